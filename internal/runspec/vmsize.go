package runspec

import (
	"errors"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/session"
)

// checkInstanceType checks resources.instance_type against pfz's VM size
// catalog (internal/session) and writes it as the catalog spells it
// ("e4ds_v4" becomes "Standard_E4ds_v4"). An unknown size written as Azure
// writes sizes is a warning (the catalog cannot be complete), anything else
// an error; both hints name the nearest known sizes.
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
		p := l.spec.PosOf("resources.instance_type")
		// Named as the user gave it: the key of run.yml or --set, or the flag.
		what := "resources.instance_type"
		if strings.HasPrefix(p.File, "--") {
			what = p.File
		}
		if session.WellFormedVMSize(it) {
			// A size newer than the catalog must not stop a run offline;
			// Azure says whether it exists in the region.
			l.warnf(CodeInstanceType, p, fault.HintOf(err), "%s: %s; it is passed on as written", what, msg)
			return
		}
		l.errorf(CodeInstanceType, p, fault.HintOf(err)+`; Azure VM sizes are written Standard_<series><size>_<version>`, "%s: %s", what, msg)
		return
	}
	l.spec.Resources.InstanceType = size.Name
}
