package azureml

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// resumeRequest is ResumeBulkRunRequest as pfazure fills it (protocol §3.8,
// recordings test_run_resume*): the new run's name and what may change on
// resume; the flow, data and settings are the resumed run's. Empty fields
// are left out as msrest leaves out nulls.
type resumeRequest struct {
	RunID           string            `json:"runId,omitempty"`
	RunDisplayName  string            `json:"runDisplayName,omitempty"`
	Description     string            `json:"description,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	ResumeFromRunID string            `json:"resumeFromRunId"`
	RuntimeName     string            `json:"runtimeName,omitempty"`
	VMSize          string            `json:"vmSize,omitempty"`
	Identity        string            `json:"identity,omitempty"`
	ComputeName     string            `json:"computeName,omitempty"`
}

// resume creates a run that reruns the failed and missing lines of
// sub.ResumeFrom (POST BulkRuns/resume). As pfazure does, it reads the run to
// resume first, so an unknown name fails before anything is created. With a
// name, a lost answer is checked against run history before a retry, so a
// retried resume never makes a second run; without one the service names the
// run and a lost answer is not retried.
func (r *runs) resume(ctx context.Context, sub *workspace.Submission, rep workspace.Reporter) (*workspace.Run, error) {
	w := r.w
	if _, err := w.bulkRun(ctx, sub.ResumeFrom); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fault.Wrap(fault.NotFound, err, "run %q to resume was not found in workspace %s; nothing was resumed", sub.ResumeFrom, w.opts.Workspace).
				WithHint("list runs with `pfz run list`")
		}
		return nil, w.fail(err, "reading run %s to resume", sub.ResumeFrom)
	}
	id, err := w.resolveIdentity(ctx, sub.Identity)
	if err != nil {
		return nil, err
	}
	req := resumeRequest{
		RunID: sub.Name, RunDisplayName: sub.DisplayName, Description: sub.Description, Tags: sub.Tags,
		ResumeFromRunID: sub.ResumeFrom, RuntimeName: sub.Runtime, VMSize: sub.Resources.InstanceType,
		ComputeName: sub.Resources.Compute, Identity: id,
	}
	u, err := w.flowURL(ctx, "BulkRuns/resume")
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 0; ; attempt++ {
		resp, err := w.c.do(ctx, call{method: http.MethodPost, url: u, body: req, scope: w.cloud.armScope(), mlScope: w.cloud.mlScope(), noRetry: true})
		if err == nil {
			var name string
			if jerr := resp.json(&name); jerr != nil || name == "" {
				name = req.RunID
			}
			if name == "" {
				return nil, fault.New(fault.Failed, "the service resumed run %s but did not say the new run's name", sub.ResumeFrom).
					WithHint("find it with `pfz run list`")
			}
			rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "resumed run " + sub.ResumeFrom + " as " + name})
			return r.Get(ctx, name)
		}
		if ctx.Err() != nil {
			return nil, fault.Wrap(fault.Interrupted, ctx.Err(), "resuming run %s was interrupted; the new run may or may not have been created", sub.ResumeFrom).
				WithHint("check with `pfz run list`")
		}
		st := statusOf(err)
		var te *TransportError
		uncertain := errors.As(err, &te) || st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout
		if !uncertain || attempt+1 >= attempts {
			return nil, w.fail(err, "resuming run %s", sub.ResumeFrom)
		}
		if req.RunID == "" {
			return nil, fault.Wrap(fault.Failed, err, "resuming run %s failed and the service names the new run, so pfz cannot tell whether it was created", sub.ResumeFrom).
				WithHint("check with `pfz run list` before resuming again; give --name to make a retry safe")
		}
		if exists, cerr := w.runExists(ctx, req.RunID); cerr != nil {
			return nil, fault.Wrap(fault.Failed, err, "resuming run %s failed and pfz could not check whether %s was created", sub.ResumeFrom, req.RunID).
				WithHint("check with `pfz run show %s` before resuming again", req.RunID)
		} else if exists {
			return r.Get(ctx, req.RunID)
		}
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "resume failed (" + shortErr(err) + "); run " + req.RunID + " was not created, retrying"})
		delay, err := w.c.retryWait(attempt, err)
		if err != nil {
			return nil, w.fail(err, "resuming run %s (run %s was not created)", sub.ResumeFrom, req.RunID)
		}
		if err := w.c.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

func isResume(sub *workspace.Submission) bool { return strings.TrimSpace(sub.ResumeFrom) != "" }
