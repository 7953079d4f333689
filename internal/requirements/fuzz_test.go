package requirements

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"requests\n",
		"# c\n-i https://{private}@h/simple\nrequests[socks]>=2,<3; python_version >= '3.8' # x\n",
		"foo \\\r\n  ==1 \\\n  --hash=sha256:ab\r\n",
		"-e ./lib\n--editable=git+https://h/r.git#egg=r\n",
		"./dist/p-1.0-py3-none-any.whl\nfile:///x.tar.gz\nC:\\w\\p.whl\n",
		"--hash 'unterminated\n-r\n--bogus x\n",
		"x; (os_name == 'nt' or sys_platform in \"linux\") and extra != 'a'\n",
		"\ufeffa\x0cb\x1cc\u2028d\u0085e\\",
		"a \\",
		"\\\\\\\n\\\n",
		"pkg @ https://h/p.whl ; os_name=='nt'\n",
		"bad\xff\n",
		"a==1 --config-settings=\"k=v w\" #\n",
		"--ed=",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, ds := Parse("r.txt", data)
		if !bytes.Equal(file.Bytes(), data) {
			t.Fatalf("round trip lost bytes: %q -> %q", data, file.Bytes())
		}
		lines := file.Lines()
		if utf8.Valid(data) {
			sl, err := SplitLines(data)
			if err != nil || len(sl) != len(lines) {
				t.Fatalf("SplitLines = %d lines, %v; Lines = %d", len(sl), err, len(lines))
			}
		}
		maxLine := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		for _, d := range append(ds, file.Check()...) {
			if d.Line < 1 || d.Line > maxLine || d.Column < 1 {
				t.Fatalf("diagnostic outside the file: %v", d)
			}
		}
		rendered := file.Render("tok")
		if !bytes.Contains(data, []byte(PrivatePlaceholder)) && !bytes.Equal(rendered, data) {
			t.Fatalf("Render changed a file without {private}")
		}
		_ = file.IndexURLs()
		_ = file.Includes()
		for _, r := range file.Requirements() {
			_ = r.String()
		}
		changed, err := file.Add("zz-fuzz==1.0")
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		found := false
		for _, r := range file.Requirements() {
			found = found || (r.Normalized == "zz-fuzz" && r.Specifier == "==1.0")
		}
		if !found {
			t.Fatalf("Add did not add (changed=%v): %q", changed, file.Bytes())
		}
	})
}

func BenchmarkParseCheck(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 2000; i++ {
		buf.WriteString("# group\npkg-number-")
		buf.WriteString(string(rune('a' + i%26)))
		buf.WriteString("[extra]>=1.0,<2; python_version >= \"3.8\" --hash=sha256:abcdef # why\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, _ := Parse("r.txt", data)
		_ = f.Check()
	}
}
