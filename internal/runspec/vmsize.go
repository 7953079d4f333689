package runspec

import (
	"errors"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/session"
)

// checkInstanceType checks resources.instance_type against pfz's VM size
// catalog (internal/session) and writes it as the catalog spells it
// ("e4ds_v4" becomes "Standard_E4ds_v4"); an unknown size is an error whose
// hint names the nearest sizes.
func (l *loader) checkInstanceType() {
	it := l.spec.Resources.InstanceType
	if it == "" {
		return
	}
	size, err := session.LookupVMSize(it)
	if err != nil {
		msg := err.Error()
		var fe *fault.Error
		if errors.As(err, &fe) {
			msg = fe.Msg
		}
		l.errorf(CodeInstanceType, l.spec.PosOf("resources.instance_type"), fault.HintOf(err), "resources.instance_type: %s", msg)
		return
	}
	l.spec.Resources.InstanceType = size.Name
}
