package workspace

import "encoding/json"

func marshalFlat(m map[string]any) ([]byte, error) { return json.Marshal(m) }
