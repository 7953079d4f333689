//go:build windows

package local

import (
	"os"
	"os/exec"
	"syscall"
)

// StartDetached starts a process that outlives pfz, for Options.Detach: in
// a new process group without a console, with no standard streams (it
// writes its own log). It returns the pid.
func StartDetached(exe string, args, env []string) (int, error) {
	const detachedProcess = 0x00000008
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
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
	go func() { _ = cmd.Wait() }()
	return pid, nil
}
