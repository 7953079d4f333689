package pyenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Jinja2 is what every local session gets besides pip: prompt and llm
// nodes render with it, as they do with the Jinja2 of a compute session's
// image. The version is the one pfz's Jinja2 conformance data was made with.
const (
	JinjaVersion = "3.1.6"
	jinjaReq     = "Jinja2==" + JinjaVersion
)

// JinjaSource says where EnsureJinja took Jinja2 from.
type JinjaSource string

const (
	JinjaPresent   JinjaSource = "present"   // the environment already had it
	JinjaWheels    JinjaSource = "wheels"    // pfz's wheel cache, no network
	JinjaIndex     JinjaSource = "index"     // downloaded into the wheel cache, then installed from it
	JinjaBaseCopy  JinjaSource = "base-copy" // copied from the base interpreter's own installation
	JinjaNotLoaded JinjaSource = ""
)

// EnsureJinja makes Jinja2 importable in the environment of python. It
// tries, in order: the environment itself; wheels in wheelDir (offline);
// the package index, keeping the wheels in wheelDir for the next session;
// the base interpreter's own Jinja2 (same interpreter, so its compiled
// MarkupSafe fits), for a machine that is offline on its first session.
// pip's output goes to log. The error says why each way failed.
func (r *Runner) EnsureJinja(ctx context.Context, python, wheelDir string, log io.Writer) (JinjaSource, error) {
	if r.importsJinja(ctx, python) {
		return JinjaPresent, nil
	}
	var why []string
	if hasJinjaWheel(wheelDir) {
		err := r.installWheels(ctx, python, wheelDir, log)
		if err == nil {
			return JinjaWheels, nil
		}
		why = append(why, "from "+wheelDir+": "+err.Error())
	}
	if err := os.MkdirAll(wheelDir, 0o755); err != nil {
		return JinjaNotLoaded, err
	}
	args := []string{"download", "--retries", "0", "--timeout", "30", "--dest", wheelDir}
	if r.IndexURL != "" {
		args = append(args, "--index-url", r.IndexURL)
	}
	err := r.pip(ctx, python, log, append(args, jinjaReq)...)
	if err == nil {
		err = r.installWheels(ctx, python, wheelDir, log)
		if err == nil {
			return JinjaIndex, nil
		}
	}
	if ctx.Err() != nil {
		return JinjaNotLoaded, ctxFault(ctx, "installing Jinja2")
	}
	why = append(why, "from the package index: "+err.Error())
	base, berr := r.Interpreter()
	if berr == nil {
		berr = r.copyFromBase(ctx, base, python, log)
		if berr == nil {
			return JinjaBaseCopy, nil
		}
	}
	why = append(why, "from the base interpreter: "+berr.Error())
	return JinjaNotLoaded, errors.New(strings.Join(why, "; "))
}

func (r *Runner) importsJinja(ctx context.Context, python string) bool {
	return r.command(ctx, python, "-c", "import jinja2, markupsafe").Run() == nil
}

func hasJinjaWheel(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "[Jj]inja2-"+JinjaVersion+"-*.whl"))
	return len(m) > 0
}

// installWheels installs Jinja2 from the wheels in wheelDir alone: with uv
// where it installs what pip does (the same wheels, in a fraction of pip's
// time), else, or when uv fails, with pip.
func (r *Runner) installWheels(ctx context.Context, python, wheelDir string, log io.Writer) error {
	if uv := r.installer(ctx, InstallRequest{}, nil); uv != "" {
		fmt.Fprintf(log, "pfz: installing %s with %s\n", jinjaReq, uv)
		cmd := r.uvCommand(ctx, uv, "pip", "install", "--no-config", "--python", python, "--no-index", "--find-links", wheelDir, jinjaReq)
		err := runQuiet(ctx, cmd, "uv pip install", log)
		if err == nil || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(log, "pfz: uv could not install %s (%v); trying pip\n", jinjaReq, err)
	}
	return r.pip(ctx, python, log, "install", "--no-index", "--find-links", wheelDir, jinjaReq)
}

// pip runs one pip command quietly, its output to log; an error carries
// pip's own reason.
func (r *Runner) pip(ctx context.Context, python string, log io.Writer, args ...string) error {
	all := append([]string{"-m", "pip"}, args...)
	all = append(all, "--disable-pip-version-check", "--no-input", "--no-color", "--progress-bar", "off")
	if r.NoCache {
		all = append(all, "--no-cache-dir")
	}
	return runQuiet(ctx, r.command(ctx, python, all...), "pip "+args[0], log)
}

// runQuiet runs cmd with its output to log; an error carries the output's
// own reason.
func runQuiet(ctx context.Context, cmd *exec.Cmd, what string, log io.Writer) error {
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctxFault(ctx, what)
		}
		return errors.New(strings.ReplaceAll(tail.summary(), "\n", " "))
	}
	return nil
}

// copyBase is run by the base interpreter: it copies the files of its own
// Jinja2 and MarkupSafe distributions (as their RECORD lists them, metadata
// included, so pip sees them) into the environment's site-packages.
const copyBase = `
import importlib.metadata as md, os, shutil, sys
dest = sys.argv[1]
for name in ("Jinja2", "MarkupSafe"):
    d = md.distribution(name)
    if name == "Jinja2" and not d.version.startswith("3."):
        sys.exit("Jinja2 %s is too old (3.x is needed)" % d.version)
    root = os.path.realpath(str(d.locate_file("")))
    for f in d.files or []:
        src = os.path.realpath(str(d.locate_file(f)))
        if not src.startswith(root + os.sep) or "__pycache__" in f.parts or not os.path.isfile(src):
            continue
        dst = os.path.join(dest, os.path.relpath(src, root))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    print("copied %s %s from %s" % (name, d.version, root))
`

func (r *Runner) copyFromBase(ctx context.Context, base, python string, log io.Writer) error {
	out, err := r.command(ctx, python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").Output()
	if err != nil {
		return fmt.Errorf("cannot find the environment's site-packages: %v", err)
	}
	site := strings.TrimSpace(string(out))
	cmd := r.command(ctx, base, "-I", "-c", copyBase, site)
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s has no usable Jinja2: %s", base, strings.ReplaceAll(tail.summary(), "\n", " "))
	}
	if !r.importsJinja(ctx, python) {
		return fmt.Errorf("Jinja2 copied from %s does not import in the environment", base)
	}
	return nil
}
