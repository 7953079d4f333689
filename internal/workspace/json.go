package workspace

import (
	"bytes"
	"encoding/json"
)

// marshalJSON is json.Marshal without HTML escaping (& < > stay as they
// are, as Python's json.dumps writes them): the printer's encoder does not
// undo the escapes a MarshalJSON method wrote.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
