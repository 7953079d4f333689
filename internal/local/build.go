package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/pyenv"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

// privateVar is the environment variable that carries the private feed
// token to pip: {private} becomes ${privateVar} in the file pip reads, and
// pip expands it in memory.
const privateVar = "PFZ_PIP_PRIVATE_TOKEN"

// build makes the environment of a Starting record and installs its
// requirements. The caller holds the session lock.
func (s *Sessions) build(ctx context.Context, rec *record, opts workspace.StartOptions) (_ *workspace.Session, rerr error) {
	lg, err := s.openLog(rec, rec.Op, opts)
	if err != nil {
		return nil, s.fail(rec, err)
	}
	defer closeLog(lg, &rerr)
	rep := reporterOf(opts)

	fresh := rec.Op == opReset
	if rec.ComputeType == workspace.ComputeComputeInstance {
		env, release, err := s.computeEnv(ctx, rec, fresh, lg, rep)
		if err != nil {
			return nil, s.fail(rec, err)
		}
		defer release()
		rec.Env = env
		if err := s.install(ctx, rec, rec.Spec.Requirements, lg, rep); err != nil {
			return nil, s.fail(rec, err)
		}
	} else {
		// The requirements come installed with the cached environment.
		env, err := s.serverlessEnv(ctx, rec, fresh, lg, rep)
		if err != nil {
			return nil, s.fail(rec, err)
		}
		rec.Env = env
	}
	now := s.now()
	rec.Status, rec.PID, rec.Op, rec.Message = workspace.SessionRunning, 0, "", ""
	rec.Requirements = meaningful(rec.Spec.Requirements)
	rec.LastUsed = now
	if err := s.save(rec); err != nil {
		return nil, err
	}
	_ = s.touch(rec.Spec.ID)
	rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Session %s is running (Python %s)", rec.Spec.ID, rec.Env.PythonVersion)})
	return rec.toSession(), nil
}

// fail records a failed build and returns its error with the log named.
func (s *Sessions) fail(rec *record, err error) error {
	rec.Status, rec.PID, rec.Op = workspace.SessionFailed, 0, ""
	var fe *fault.Error
	msg := err.Error()
	if errors.As(err, &fe) && fe.Msg != "" {
		msg = fe.Msg
	}
	if fault.Is(err, fault.Timeout) {
		msg = "the start did not finish in time: " + msg
	}
	rec.Message = firstLine(msg)
	// The record must say Failed even when the command was cancelled; when
	// it cannot (a full disk), that is said too.
	serr := s.save(rec)
	if fe != nil && fe.Hint == "" {
		fe.Hint = fmt.Sprintf("`pfz session reset %s` tries again", rec.Spec.ID)
		if rec.LogFile != "" {
			fe.Hint = fmt.Sprintf("the full log is %s; `pfz session reset %s` tries again", rec.LogFile, rec.Spec.ID)
		}
	}
	if serr != nil {
		return errors.Join(err, fmt.Errorf("the session record could not be marked Failed: %w", serr))
	}
	return err
}

// createEnv makes a fresh environment in dir and records what it holds
// before any requirement: those are the base packages.
func (s *Sessions) createEnv(ctx context.Context, dir string, lg *logSink, rep workspace.Reporter) (envInfo, error) {
	rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "Creating the Python environment"})
	info, err := s.env.Create(ctx, dir, lg)
	if err != nil {
		return envInfo{}, err
	}
	jinja := s.ensureJinja(ctx, info.Python, lg, rep)
	dists, err := s.env.List(ctx, info.Python)
	if err != nil {
		return envInfo{}, err
	}
	base := make([]string, 0, len(dists))
	for _, d := range dists {
		base = append(base, normalizeName(d.Name))
	}
	return envInfo{Dir: dir, Python: info.Python, PythonVersion: info.Version, BasePython: info.Base, BasePackages: base, Jinja: string(jinja)}, nil
}

// ensureJinja puts Jinja2 into a new environment, as a compute session's
// image has it: prompt and llm nodes render with it. A session that cannot
// get it still starts (python-only flows need nothing from the network); its
// log and status say so, and a prompt node refuses to run with a hint.
func (s *Sessions) ensureJinja(ctx context.Context, python string, lg *logSink, rep workspace.Reporter) pyenv.JinjaSource {
	src, err := s.env.EnsureJinja(ctx, python, filepath.Join(s.st.Home(), "cache", "wheels"), lg)
	switch {
	case err != nil:
		msg := "Jinja2 could not be installed, so prompt and llm nodes cannot run in this session (" + lg.redact(err.Error()) +
			"); `pfz session reset` with network access installs it"
		fmt.Fprintln(lg, "WARNING: "+msg)
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: "Warning: " + msg})
	case src == pyenv.JinjaBaseCopy:
		msg := "Jinja2 " + pyenv.JinjaVersion + " could not be fetched (offline?); copied the base interpreter's Jinja2 into the session instead"
		fmt.Fprintln(lg, msg)
		rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: msg})
	}
	return src
}

// install runs pip install -r with the given requirement lines in the
// session's environment. The caller holds what computeEnv returned, if
// the session is on a compute instance.
func (s *Sessions) install(ctx context.Context, rec *record, lines []string, lg *logSink, rep workspace.Reporter) error {
	lines = meaningful(lines)
	if len(lines) == 0 {
		return nil
	}
	id := rec.Spec.ID
	rep.Report(workspace.Event{Kind: workspace.EventStatus, Message: fmt.Sprintf("Installing %d requirement line(s)", len(lines))})

	var extraEnv []string
	if needsPrivate(lines) {
		tok, err := s.privateToken(ctx, rec)
		if err != nil {
			return err
		}
		ui := userinfo(tok)
		lg.addSecret(tok, ui)
		if _, pw, ok := strings.Cut(tok, ":"); ok {
			lg.addSecret(pw)
		}
		extraEnv = append(extraEnv, privateVar+"="+ui)
	}
	baseDir := requirementsDir(rec)
	content := pipFile(lines, baseDir)
	tmp := filepath.Join(s.st.SessionDir(id), "requirements.pip.txt")
	if err := store.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }() // the session's folder: a leftover is overwritten next time

	err := s.env.Install(ctx, rec.Env.Python, pyenv.InstallRequest{File: tmp, Dir: baseDir, Env: extraEnv}, lg)
	if err == nil {
		return nil
	}
	var pe *pyenv.PipError
	if errors.As(err, &pe) {
		return &fault.Error{Kind: fault.Failed,
			Msg:  fmt.Sprintf("%s could not install the requirements of session %s:\n%s", pe.Tool, id, lg.redact(pe.Summary)),
			Hint: fmt.Sprintf("the full %s log is %s; fix the requirements file, then `pfz packages install` or `pfz session reset %s`", pe.Tool, lg.path, id)}
	}
	return err
}

func (s *Sessions) privateToken(ctx context.Context, rec *record) (string, error) {
	hint := "set PFZ_PRIVATE_FEED_TOKEN to a token the feed accepts (\"token\" or \"user:token\"); pfz puts it in place of {private} at install time only"
	if s.opts.PrivateToken == nil {
		return "", fault.New(fault.Auth, "the requirements use a private feed ({private}) but no token is available for identity %s", identityText(rec.Identity)).
			WithHint("%s", hint)
	}
	tok, err := s.opts.PrivateToken(ctx, rec.Identity)
	if err != nil {
		return "", fault.Wrap(fault.Auth, err, "cannot get a private feed token for identity %s", identityText(rec.Identity)).WithHint("%s", hint)
	}
	if tok == "" {
		return "", fault.New(fault.Auth, "the requirements use a private feed ({private}) but the token for identity %s is empty", identityText(rec.Identity)).
			WithHint("%s", hint)
	}
	return tok, nil
}

func needsPrivate(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "{private}") {
			return true
		}
	}
	return false
}

// userinfo escapes a token for the user-info part of a URL; "user:secret"
// keeps its colon as the user/password separator.
func userinfo(tok string) string {
	if u, p, ok := strings.Cut(tok, ":"); ok {
		return url.UserPassword(u, p).String()
	}
	return url.User(tok).String()
}

// requirementsDir is where relative paths in the requirements resolve.
func requirementsDir(rec *record) string {
	if rec.Spec.RequirementsFile != "" {
		return filepath.Dir(rec.Spec.RequirementsFile)
	}
	if rec.Spec.FlowDir != "" {
		return rec.Spec.FlowDir
	}
	return ""
}

// pipFile is the text pip reads: {private} turned into a variable pip
// expands, and nested -r/-c files made absolute because the file pip reads
// is not beside the original. Lines are read as pip reads them and as the
// environment key follows them (logicalLines, nestedRefOf), so the file
// pip installs from is the one the key hashed.
func pipFile(lines []string, baseDir string) string {
	var b strings.Builder
	for _, l := range logicalLines(lines) {
		l = strings.ReplaceAll(l, "{private}", "${"+privateVar+"}")
		if baseDir != "" {
			if ref, ok := nestedRefOf(l); ok && !strings.Contains(ref.path, "://") && !strings.HasPrefix(ref.path, "file:") && !filepath.IsAbs(ref.path) {
				l = "-" + ref.opt + " " + filepath.Join(baseDir, ref.path)
			}
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func reporterOf(opts workspace.StartOptions) workspace.Reporter {
	if opts.Reporter == nil {
		return workspace.NopReporter{}
	}
	return opts.Reporter
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// openLog opens a new log file for an operation on the session.
func (s *Sessions) openLog(rec *record, op string, opts workspace.StartOptions) (*logSink, error) {
	if op == "" {
		op = "start"
	}
	dir := filepath.Join(s.st.SessionDir(rec.Spec.ID), "logs")
	if err := store.EnsureDir(dir); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%s.log", op, time.Now().UTC().Format("20060102T150405.000000000Z")))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fault.Wrap(fault.Failed, err, "cannot write the log %s", p)
	}
	rec.LogFile = p
	lg := &logSink{file: f, path: p, debug: s.opts.Debug}
	if opts.Debug && s.opts.Debug == nil {
		lg.rep = reporterOf(opts)
	}
	return lg, nil
}

// logSink receives venv and pip output line by line and writes it, with
// secrets masked, to the log file, the debug writer and the reporter.
type logSink struct {
	mu      sync.Mutex
	file    *os.File
	path    string
	debug   io.Writer
	rep     workspace.Reporter
	secrets []string
	partial []byte
	err     error // the first write to the log file that failed
}

const mask = "******"

func (l *logSink) addSecret(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		// Very short strings would mask ordinary words and hide nothing.
		if len(s) >= 4 {
			l.secrets = append(l.secrets, s)
		}
	}
}

func (l *logSink) redact(s string) string {
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, mask)
	}
	return s
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *logSink) emit(line string) {
	line = l.redact(strings.TrimRight(line, "\r"))
	if _, err := io.WriteString(l.file, line+"\n"); err != nil && l.err == nil {
		l.err = err
	}
	if l.debug != nil {
		_, _ = io.WriteString(l.debug, line+"\n")
	}
	if l.rep != nil {
		l.rep.Report(workspace.Event{Kind: workspace.EventLog, Message: line})
	}
}

// Close flushes a last unterminated line and closes the file. It returns
// the first write that failed, or the close's error: a log with lines
// missing must not pass for the whole log.
func (l *logSink) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.emit(string(l.partial))
		l.partial = nil
	}
	cerr := l.file.Close()
	if l.err == nil {
		l.err = cerr
	}
	if l.err != nil {
		return fault.Wrap(fault.Failed, l.err, "the log %s could not be written whole", l.path)
	}
	return nil
}

// closeLog closes lg once the operation is over; a log that could not be
// written whole turns a success into an error that says so (the session's
// state is as the operation left it), and is joined to a failure.
func closeLog(lg *logSink, err *error) {
	if cerr := lg.Close(); cerr != nil {
		*err = errors.Join(*err, cerr)
	}
}
