package run

import (
	"context"
	"time"

	"github.com/pfz-cli/pfz/internal/cmdutil"
	"github.com/pfz-cli/pfz/internal/diag"
	"github.com/pfz-cli/pfz/internal/runspec"
	"github.com/pfz-cli/pfz/internal/session"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// aliasTimeout bounds the wait for the user alias in a dry run, which asks
// the credential (a cached token or the Azure CLI) and nothing else.
const aliasTimeout = 20 * time.Second

// resolve turns a loaded run definition into a submission: the flow, its
// snapshot, the data, the session id and the compute settings.
func (opts *CreateOptions) resolve(ctx context.Context, spec *runspec.Spec) (*workspace.Submission, diag.List, error) {
	alias, err := opts.alias(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	ro := runspec.ResolveOptions{UserAlias: alias, Now: now}
	if opts.FlexSignature != nil {
		if ro.FlexSignature, err = opts.FlexSignature(); err != nil {
			return nil, nil, err
		}
	}
	sub, _, ds, err := spec.Resolve(ctx, ro)
	return sub, ds, err
}

// alias returns the user alias of the session id. A dry run never fails on
// it: like pfazure, it falls back to unknown_user and says so.
func (opts *CreateOptions) alias(ctx context.Context) (string, error) {
	if !opts.DryRun {
		return opts.UserAlias(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, aliasTimeout)
	defer cancel()
	alias, err := opts.UserAlias(actx)
	if err != nil || alias == "" {
		cmdutil.Warnf(opts.IO, "cannot tell your user alias (%v); the session id below uses %q, as pfazure does", err, session.UnknownUser)
		return session.UnknownUser, nil
	}
	return alias, nil
}
