//go:build !windows

package executor

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the worker in its own process group so a kill also
// stops whatever the tool started.
// On Linux the kernel also kills the worker when pfz dies, so a killed pfz
// leaves no worker running the flow's code (the worker's own watchdog covers
// other systems).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
