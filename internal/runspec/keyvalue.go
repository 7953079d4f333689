package runspec

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// stripQuotation removes one pair of matching outer quotes, as promptflow's
// strip_quotation does: a lone `"` becomes the empty string, like Python's
// value[1:-1] on a one-character string.
func stripQuotation(s string) string {
	if (strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`)) ||
		(strings.HasPrefix(s, `'`) && strings.HasSuffix(s, `'`)) {
		if len(s) < 2 {
			return ""
		}
		return s[1 : len(s)-1]
	}
	return s
}

// keyValue is one parsed KEY=VALUE token, with the token for messages.
type keyValue struct {
	Key, Value, Token string
}

func usageKV(option string) *fault.Error {
	return fault.New(fault.Usage, "Usage error: %s KEY=VALUE [KEY=VALUE ...]", option)
}

// secretOption reports whether an option's values may be secrets (API keys
// passed as environment variables): its tokens are never echoed in errors.
func secretOption(option string) bool { return option == "--environment-variables" }

// shownToken is how an error names a token: quoted, or for a secret-bearing
// option by its form only.
func shownToken(option, tok string) string {
	if secretOption(option) {
		return "an item of " + option + " (not shown: its values may be secrets)"
	}
	return strconv.Quote(tok)
}

// parseKeyValueList parses tokens in order with pfazure's rules: strip one
// pair of quotes from the token, split at the first "=", strip one pair of
// quotes from the value. A token without "=" or with an empty key is a usage error.
func parseKeyValueList(option string, tokens []string) ([]keyValue, error) {
	out := make([]keyValue, 0, len(tokens))
	for _, tok := range tokens {
		item := stripQuotation(tok)
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return nil, usageKV(option).WithHint("%s has no \"=\"; write it as KEY=VALUE", shownToken(option, tok))
		}
		if k == "" {
			return nil, usageKV(option).WithHint("%s has an empty key; write it as KEY=VALUE", shownToken(option, tok))
		}
		out = append(out, keyValue{Key: k, Value: stripQuotation(v), Token: tok})
	}
	return out, nil
}

// ParseKeyValues parses KEY=VALUE tokens of a flag (option is its name, for
// the message) the way pfazure's AppendToDictAction does (pfazure-surface.md
// §1.6): one pair of outer quotes is stripped from the token and from the
// value, the split is at the first "=", and a later key wins. Every value is a
// string. Errors are fault.Usage.
func ParseKeyValues(option string, tokens []string) (map[string]string, error) {
	kvs, err := parseKeyValueList(option, tokens)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m, nil
}

// parseConnections turns node.key=value tokens into {node: {key: value}}.
func parseConnections(option string, tokens []string) ([]keyValue, error) {
	kvs, err := parseKeyValueList(option, tokens)
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		node, key, ok := strings.Cut(kv.Key, ".")
		if !ok || node == "" || key == "" || strings.Contains(key, ".") {
			return nil, fault.New(fault.Usage, "Usage error: %s NODE.KEY=VALUE [NODE.KEY=VALUE ...]", option).
				WithHint("%q must name a node and one of its keys, e.g. classify_with_llm.connection=my_aoai", kv.Token)
		}
	}
	return kvs, nil
}

// envVarTokens reads --environment-variables tokens: k=v pairs and .env
// files (relative to cwd), in order, later values winning. With no tokens it
// loads the nearest .env upward from cwd, or nothing when there is none.
func envVarTokens(option string, tokens []string, cwd string, lookup func(string) (string, bool)) ([]keyValue, []dotenvIssue, string, error) {
	var out []keyValue
	var issues []dotenvIssue
	if len(tokens) == 0 {
		path := findDotenv(cwd)
		if path == "" {
			return nil, nil, "", nil
		}
		entries, iss, err := readDotenvFile(path, lookup)
		if err != nil {
			return nil, nil, "", fault.Wrap(fault.Usage, err, "Usage error: %s cannot read %s", option, path)
		}
		for _, e := range entries {
			out = append(out, keyValue{Key: e.Key, Value: e.Value, Token: path})
		}
		return out, iss, path, nil
	}
	for _, tok := range tokens {
		if strings.Contains(tok, "=") {
			kvs, err := parseKeyValueList(option, []string{tok})
			if err != nil {
				return nil, nil, "", err
			}
			out = append(out, kvs...)
			continue
		}
		if !strings.HasSuffix(tok, ".env") {
			return nil, nil, "", fault.New(fault.Usage,
				"Usage error: %s expects file path endswith .env or KEY=VALUE [KEY=VALUE ...]", option).
				WithHint("%s is neither KEY=VALUE nor a file ending in .env, e.g. %s MODE=prod or %s prod.env", shownToken(option, tok), option, option)
		}
		path := tok
		if !filepath.IsAbs(path) {
			path = filepath.Join(cwd, path)
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return nil, nil, "", fault.New(fault.Usage, "Usage error: %s cannot find the file %s", option, tok).
				WithHint("paths given to %s are relative to the working directory %s", option, cwd)
		}
		entries, iss, err := readDotenvFile(path, lookup)
		if err != nil {
			return nil, nil, "", fault.Wrap(fault.Usage, err, "Usage error: %s cannot read %s", option, tok)
		}
		issues = append(issues, iss...)
		for _, e := range entries {
			out = append(out, keyValue{Key: e.Key, Value: e.Value, Token: tok})
		}
	}
	return out, issues, "", nil
}

// findDotenv walks from dir up to the root looking for a .env file, as
// python-dotenv's find_dotenv(usecwd=True) does.
func findDotenv(dir string) string {
	if dir == "" {
		return ""
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(d, ".env")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// errInitFile is returned for init files that are missing or of the wrong kind.
var errInitFile = errors.New("init file")

// loadInputData reads a .json file (the whole document) or a .jsonl file (its
// first record), as promptflow's load_input_data does.
func loadInputData(path string) (any, error) {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return nil, fmt.Errorf("%w: Cannot find inputs file %s", errInitFile, path)
	}
	switch {
	case strings.HasSuffix(path, ".jsonl"):
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if t := strings.TrimSpace(line); t != "" {
				return decodeJSONValue(strings.NewReader(t))
			}
			if err == io.EOF {
				return nil, fmt.Errorf("%w: %s has no records", errInitFile, path)
			}
			if err != nil {
				return nil, err
			}
		}
	case strings.HasSuffix(path, ".json"):
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return decodeJSONValue(f)
	}
	return nil, fmt.Errorf("%w: Only support jsonl or json file as input.", errInitFile) //nolint:staticcheck // promptflow's message, word for word
}

func decodeJSONValue(r io.Reader) (any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return v, nil
}
