//go:build unix

package pyenv

import (
	"os/exec"
	"syscall"
)

// inGroup runs cmd in a process group of its own and makes a cancelled
// context kill the whole group: `python -m venv` runs ensurepip, and pip
// runs build backends, as children that would otherwise outlive pfz.
func inGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
