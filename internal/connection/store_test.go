package connection

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pfz-cli/pfz/internal/fault"
)

func itoa(i int) string { return strconv.Itoa(i) }

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func aoai(name, key string) *Connection {
	return &Connection{Name: name, Type: TypeAzureOpenAI, APIKey: key, APIBase: "https://x.openai.azure.com/", APIType: "azure", APIVersion: "2024-02-01"}
}

func TestStoreRoundTrip(t *testing.T) {
	home := t.TempDir()
	s := NewStore(home)
	ctx := context.Background()
	if err := s.Create(ctx, aoai("aoai", "super-secret-key")); err != nil {
		t.Fatal(err)
	}
	custom := &Connection{Name: "cust", Type: TypeCustom, Configs: map[string]string{"url": "https://u"}, Secrets: map[string]string{"tok": "custom-secret-tok"}}
	if err := s.Create(ctx, custom); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, "aoai")
	if err != nil || got.APIKey != "super-secret-key" || got.APIBase != "https://x.openai.azure.com/" || got.CreatedDate == nil {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	gc, _ := s.Get(ctx, "cust")
	if gc.Secrets["tok"] != "custom-secret-tok" || gc.Configs["url"] != "https://u" {
		t.Errorf("custom Get = %+v", gc)
	}

	shown, _ := s.Show(ctx, "aoai")
	if shown.APIKey != Redacted {
		t.Errorf("Show api_key %q", shown.APIKey)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "aoai" || list[1].Name != "cust" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if list[0].APIKey != Redacted || list[1].Secrets["tok"] != Redacted {
		t.Errorf("List not redacted: %+v", list)
	}

	// Secrets live only in the 0600 secrets files.
	dir := filepath.Join(home, "connections")
	for _, n := range []string{"aoai/connection.json", "cust/connection.json"} {
		b := mustRead(t, filepath.Join(dir, n))
		if strings.Contains(string(b), "super-secret-key") || strings.Contains(string(b), "custom-secret-tok") {
			t.Errorf("%s holds a secret:\n%s", n, b)
		}
	}
	for _, n := range []string{"aoai/secrets.json", "cust/secrets.json"} {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", n, st.Mode().Perm())
		}
	}

	// Re-creating replaces the values and keeps the creation date.
	if err := s.Create(ctx, aoai("aoai", "rotated-key")); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Get(ctx, "aoai")
	if again.APIKey != "rotated-key" || !again.CreatedDate.Equal(*got.CreatedDate) {
		t.Errorf("after re-create: %+v", again)
	}

	if err := s.Delete(ctx, "aoai"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "aoai"); !fault.Is(err, fault.NotFound) || fault.HintOf(err) == "" {
		t.Errorf("Get after delete: %v", err)
	}
	if err := s.Delete(ctx, "aoai"); !fault.Is(err, fault.NotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "aoai")); !os.IsNotExist(err) {
		t.Error("delete left the connection's folder")
	}
}

func TestStoreRejects(t *testing.T) {
	s := NewStore(t.TempDir())
	ctx := context.Background()
	if err := s.Create(ctx, &Connection{Name: "x", Type: TypeOpenAI}); fault.KindOf(err) != fault.Validation || !strings.Contains(err.Error(), "needs api_key") {
		t.Errorf("invalid create: %v", err)
	}
	for _, name := range []string{"../x", ".hidden", "a/b", ""} {
		if _, err := s.Get(ctx, name); fault.KindOf(err) != fault.Usage {
			t.Errorf("Get(%q): %v", name, err)
		}
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("empty List = %v, %v", list, err)
	}
}

func TestStoreDetectsHalfWrittenConnection(t *testing.T) {
	home := t.TempDir()
	s := NewStore(home)
	ctx := context.Background()
	if err := s.Create(ctx, aoai("c", "one")); err != nil {
		t.Fatal(err)
	}
	// A kill between the two writes of a second create: new secrets, old record.
	sec := filepath.Join(home, "connections", "c", "secrets.json")
	b, _ := json.Marshal(secretsFile{Revision: "other", APIKey: "two"})
	if err := os.WriteFile(sec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "c")
	if err == nil || !strings.Contains(err.Error(), "do not match") || !strings.Contains(fault.HintOf(err), "create the connection again") {
		t.Fatalf("got %v", err)
	}
	if err := s.Create(ctx, aoai("c", "three")); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Get(ctx, "c"); err != nil || c.APIKey != "three" {
		t.Errorf("after re-create: %+v %v", c, err)
	}
}

func TestStoreConcurrentCreates(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate handles, as separate processes would have.
			if err := NewStore(home).Create(ctx, aoai("shared", fmt.Sprintf("key-%d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := NewStore(home).Get(ctx, "shared")
	if err != nil || !strings.HasPrefix(c.APIKey, "key-") {
		t.Fatalf("after concurrent creates the record and secrets disagree: %+v %v", c, err)
	}
}

// A connection named like another's secrets file is its own connection:
// creating and deleting "foo.secrets" leaves foo whole (issue 9, item 2).
func TestStoreNamesNeverCollide(t *testing.T) {
	s := NewStore(t.TempDir())
	ctx := context.Background()
	for _, name := range []string{"foo", "foo.secrets", "foo.json", "foo.secrets.json"} {
		if err := s.Create(ctx, aoai(name, "key-of-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"foo", "foo.secrets", "foo.json", "foo.secrets.json"} {
		c, err := s.Get(ctx, name)
		if err != nil || c.APIKey != "key-of-"+name {
			t.Fatalf("Get(%s) = %+v, %v", name, c, err)
		}
	}
	if err := s.Delete(ctx, "foo.secrets"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Get(ctx, "foo"); err != nil || c.APIKey != "key-of-foo" {
		t.Fatalf("foo after deleting foo.secrets: %+v, %v", c, err)
	}
	list, _ := s.List(ctx)
	if len(list) != 3 {
		t.Fatalf("List = %+v", list)
	}
}

// Names are unique ignoring case, as Azure resource names are.
func TestStoreNamesUniqueIgnoringCase(t *testing.T) {
	s := NewStore(t.TempDir())
	ctx := context.Background()
	if err := s.Create(ctx, aoai("Prod", "k")); err != nil {
		t.Fatal(err)
	}
	err := s.Create(ctx, aoai("prod", "other"))
	if fault.KindOf(err) != fault.Usage || !strings.Contains(err.Error(), `"Prod"`) {
		t.Fatalf("create prod beside Prod: %v", err)
	}
	if err := s.Create(ctx, aoai("Prod", "rotated")); err != nil {
		t.Fatalf("re-create under its own name: %v", err)
	}
	if _, err := s.Get(ctx, "prod"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Get(prod): %v", err)
	}
}

// A store of the flat layout is migrated on first use, including one where
// a "foo.secrets" record already overwrote foo's secrets: foo then reads as
// damaged, never with foo.secrets' key.
func TestStoreMigratesTheFlatLayout(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, "connections")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(name, rev string) recordFile {
		c := aoai(name, "set")
		return recordFile{Revision: rev, Connection: *c.Redact()}
	}
	write("good.json", rec("good", "r1"))
	write("good.secrets.json", secretsFile{Revision: "r1", APIKey: "good-key"})
	// The collision: foo.secrets' record sits where foo's secrets were.
	write("foo.json", rec("foo", "r2"))
	write("foo.secrets.json", rec("foo.secrets", "r3"))
	write("foo.secrets.secrets.json", secretsFile{Revision: "r3", APIKey: "foo-secrets-key"})
	write("orphan.secrets.json", secretsFile{Revision: "r9", APIKey: "nobody"})
	// Secrets of another revision than their record: kept, not deleted.
	write("stale.json", rec("stale", "r5"))
	write("stale.secrets.json", secretsFile{Revision: "r4", APIKey: "stale-key"})

	s := NewStore(home)
	ctx := context.Background()
	if c, err := s.Get(ctx, "good"); err != nil || c.APIKey != "good-key" {
		t.Fatalf("good = %+v, %v", c, err)
	}
	if c, err := s.Get(ctx, "foo.secrets"); err != nil || c.APIKey != "foo-secrets-key" {
		t.Fatalf("foo.secrets = %+v, %v", c, err)
	}
	if c, err := s.Get(ctx, "foo"); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("foo = %+v, %v; want damaged", c, err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "foo,foo.secrets,good,stale" {
		t.Fatalf("after migration connections/ holds %v", names)
	}
	kept := filepath.Join(dir, "stale", orphanSecretsName)
	if b, err := os.ReadFile(kept); err != nil || !strings.Contains(string(b), "stale-key") {
		t.Fatalf("the stale secrets were not kept: %v", err)
	}
	if st, _ := os.Stat(kept); st == nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kept secrets mode %v", st)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("List = %+v, %v", list, err)
	}
}
