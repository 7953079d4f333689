package session

import "github.com/pfz-cli/pfz/internal/fault"

// CheckComputeInstance refuses what a session on a compute instance cannot
// have, as the studio's form does not offer it: a VM size (the instance's
// own is used) and an identity (the instance's is used). sizeSetting and
// identitySetting name the settings as the user gave them (--vm-size,
// resources.instance_type); hasSize and hasIdentity say whether they were
// given. The error is fault.Usage (exit 2) with a hint.
func CheckComputeInstance(hasSize bool, sizeSetting string, hasIdentity bool, identitySetting string) error {
	if hasSize {
		return fault.New(fault.Usage, "%s cannot be set for a compute-instance session: the VM size is the instance's", sizeSetting).
			WithHint("drop %s, or leave out the compute instance to use serverless compute", sizeSetting)
	}
	if hasIdentity {
		return fault.New(fault.Usage, "%s cannot be set for a compute-instance session: it uses the instance's identity", identitySetting).
			WithHint("assign a managed identity to the compute instance, or leave out the compute instance to use serverless compute")
	}
	return nil
}

// ErrMoveServerless refuses to move a serverless session to a compute
// instance (session edit --compute): only a compute-instance session moves.
func ErrMoveServerless(id string) error {
	return fault.New(fault.Usage, "session %s runs on serverless compute: --compute moves a compute-instance session to another instance", id).
		WithHint("stop it (`pfz session stop`) and start it on the instance with `pfz session start --compute NAME`")
}
