//go:build unix

package local

import (
	"os"
	"os/exec"
	"syscall"
)

// StartDetached starts a process that outlives pfz, for Options.Detach: in
// its own session, so a Ctrl-C in the terminal does not reach it, with no
// standard streams (it writes its own log). It returns the pid.
func StartDetached(exe string, args, env []string) (int, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	// Reap it in the background should pfz outlive it; otherwise let go.
	go func() { _ = cmd.Wait() }()
	return pid, nil
}
