package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pfz-cli/pfz/internal/fault"
	"github.com/pfz-cli/pfz/internal/local/store"
	"github.com/pfz-cli/pfz/internal/workspace"
)

func ciSpec(id, flow string, reqs ...string) workspace.SessionSpec {
	sp := testSpec(id)
	sp.ComputeType = workspace.ComputeComputeInstance
	sp.ComputeName = "alice-box"
	sp.FlowDir = flow
	sp.Requirements = reqs
	return sp
}

func TestComputeInstanceIsShared(t *testing.T) {
	s, f, _ := newTest(t)
	ctx := context.Background()
	first := ciSpec("flow1", "/flows/one", "pfz-a")
	first.VMSize = "Standard_D2s_v3"
	a := mustStart(t, s, first)
	b := mustStart(t, s, ciSpec("flow2", "/flows/two", "pfz-b"))

	if a.Compute != "alice-box" || b.Compute != "alice-box" || b.ComputeType != workspace.ComputeComputeInstance {
		t.Fatalf("compute %q %q", a.Compute, b.Compute)
	}
	if b.VMSize != "Standard_D2s_v3" || b.VCPUs != 2 {
		t.Errorf("the second session should take the instance's VM size: %s", b.VMSize)
	}
	if creates, _ := f.counts(); creates != 1 {
		t.Errorf("two sessions on one instance built %d environments", creates)
	}
	pa, _, _, _ := s.Python(ctx, "flow1")
	pb, _, _, _ := s.Python(ctx, "flow2")
	if pa != pb || !strings.HasPrefix(pa, s.st.ComputeDir("alice-box")) {
		t.Errorf("interpreters %s and %s, want the instance's", pa, pb)
	}
	pk, err := s.Packages(ctx, "flow2")
	if err != nil {
		t.Fatal(err)
	}
	origins := map[string]string{}
	for _, p := range pk.Packages {
		origins[p.Name] = p.Origin
	}
	// flow1's package is in the shared environment but not flow2's requirement.
	if origins["pfz-b"] != workspace.OriginRequirements || origins["pfz-a"] != workspace.OriginDependency {
		t.Errorf("origins %v", origins)
	}

	// Resetting one session rebuilds the instance and reinstalls the other's packages.
	if _, err := s.Reset(ctx, "flow1", workspace.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if creates, _ := f.counts(); creates != 2 {
		t.Errorf("reset built %d environments in all, want 2", creates)
	}
	pk, _ = s.Packages(ctx, "flow2")
	found := false
	for _, p := range pk.Packages {
		found = found || p.Name == "pfz-b"
	}
	if !found {
		t.Error("the reset lost the other session's packages")
	}

	// Stopping one keeps the instance; stopping the last releases it.
	if err := s.Stop(ctx, "flow1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.st.ComputeDir("alice-box")); err != nil {
		t.Fatalf("the instance went with a session while another remains: %v", err)
	}
	if err := s.Stop(ctx, "flow2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.st.ComputeDir("alice-box")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the instance stayed after its last session stopped")
	}
}

func TestComputeInstanceRules(t *testing.T) {
	s, _, _ := newTest(t)
	ctx := context.Background()
	mustStart(t, s, ciSpec("flow1", "/flows/one"))

	other := ciSpec("flow2", "/flows/two")
	other.UserAlias = "bob"
	if _, err := s.Start(ctx, other, workspace.StartOptions{}); fault.KindOf(err) != fault.Auth || !strings.Contains(err.Error(), "belongs to alice") {
		t.Errorf("another user's session: %v", err)
	}
	sized := ciSpec("flow3", "/flows/three")
	sized.VMSize = "Standard_D8s_v3"
	if _, err := s.Start(ctx, sized, workspace.StartOptions{}); fault.KindOf(err) != fault.Usage || !strings.Contains(err.Error(), "the VM size is the instance's") {
		t.Errorf("a different VM size: %v", err)
	}
	ident := ciSpec("flow4", "/flows/four")
	ident.Identity = workspace.Identity{Type: "managed"}
	if _, err := s.Start(ctx, ident, workspace.StartOptions{}); fault.KindOf(err) != fault.Usage {
		t.Errorf("a different identity: %v", err)
	}
	size := "Standard_D2s_v3"
	if _, err := s.Edit(ctx, "flow1", workspace.SessionEdit{VMSize: &size}, workspace.StartOptions{}); fault.KindOf(err) != fault.Usage {
		t.Errorf("resizing an instance session: %v", err)
	}
	idle := 10 * time.Minute
	if got, err := s.Edit(ctx, "flow1", workspace.SessionEdit{IdleTime: &idle}, workspace.StartOptions{}); err != nil || got.IdleTimeSeconds != 600 {
		t.Errorf("idle time of an instance session: %v %+v", err, got)
	}
}

// A damaged compute instance record stops a start and a build on the
// instance with the damage named (its hint: move the file away), and the
// file is left as it was.
func TestCorruptComputeRecordIsReported(t *testing.T) {
	s, _, _ := newTest(t)
	p := s.computePath("alice-box")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{half a rec"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *store.CorruptError
	if _, err := s.Start(context.Background(), ciSpec("flow1", "/flows/one"), workspace.StartOptions{}); !errors.As(err, &ce) {
		t.Errorf("Start: err = %v, want the damaged record named", err)
	}
	rec := &record{Compute: "alice-box"}
	if _, _, err := s.computeEnv(context.Background(), rec, false, nil, nil); !errors.As(err, &ce) {
		t.Errorf("computeEnv: err = %v, want the damaged record named", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{half a rec" {
		t.Errorf("the damaged record was changed to %q", b)
	}
}
