package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/pfz-cli/pfz/internal/flow"
)

// entry is one value a layer gives a key, with where it is written.
type entry struct {
	raw    string
	origin string // the flag, variable or file that set it (for --sources)
	at     string // origin, or file:line:column when the place is known
	// bad is set when the layer's value cannot be used whatever it says
	// (a list where a value goes, a key given twice, a number in JSON).
	bad *Problem
}

// layer is one source of settings. broken is set when the source as a whole
// could not be read: it may have set any key it could set, so a key no layer
// above sets has that problem.
type layer struct {
	source  Source
	entries map[string]entry
	broken  *Problem
	// sets lists the keys the layer can set (nil: every key).
	sets map[string]bool
}

func (l *layer) canSet(key string) bool { return l.sets == nil || l.sets[key] }

// newViper loads the layers into one viper instance, each where viper's own
// precedence puts it:
//
//	Set (override)      the command-line flags
//	BindFlagValue       PFZ_* variables, read through opts.Getenv
//	ReadConfig          config.yaml, the same bytes the diagnostics read
//	SetDefault          the workspace's lower sources, the first that sets a
//	                    key: the Azure CLI's defaults, AZUREML_ARM_*, then
//	                    .azureml/config.json (pfazure reads the first two in
//	                    that order and not the third)
//
// The environment is not bound with BindEnv/AutomaticEnv: viper (v1.21)
// reads those through os.LookupEnv with no way to substitute a lookup, which
// would bypass Getenv (tests pass a map, and pfz reads the process
// environment in one place). Each key's PFZ_* value is bound instead as a
// viper.FlagValue that is "changed" when the variable is non-empty; that
// layer sits exactly where viper's env layer would, below Set and above the
// config file. pfz's own defaults depend on other keys (the target on the
// workspace, the endpoints on the cloud), so they are applied after viper
// has resolved what the user set.
func newViper(flags, env, file *layer, lower []*layer, fileData []byte) (*viper.Viper, error) {
	v := viper.NewWithOptions(viper.WithDecoderRegistry(codecRegistry{}))
	v.SetConfigType("yaml")
	for key, e := range flags.entries {
		v.Set(key, e.raw)
	}
	for _, k := range Keys() {
		e := env.entries[k.Name]
		if err := v.BindFlagValue(k.Name, envValue{name: k.Env, value: e.raw}); err != nil {
			return nil, err
		}
	}
	if file.broken == nil && len(fileData) > 0 {
		if err := v.ReadConfig(bytes.NewReader(fileData)); err != nil {
			return nil, err
		}
	}
	set := map[string]bool{}
	for _, l := range lower {
		for key, e := range l.entries {
			if !set[key] {
				set[key] = true
				if e.bad == nil {
					v.SetDefault(key, e.raw)
				}
			}
		}
	}
	return v, nil
}

// envValue is one PFZ_* variable as viper's flag layer sees it.
type envValue struct{ name, value string }

func (e envValue) HasChanged() bool    { return e.value != "" }
func (e envValue) Name() string        { return e.name }
func (e envValue) ValueString() string { return e.value }
func (e envValue) ValueType() string   { return "string" }

// codecRegistry gives viper pfz's YAML decoder: viper's own turns
// `subscription: 0001` into the number 1 and follows every alias. This one
// keeps each scalar as the text written, lowercases keys as viper does, keeps
// the first of a key given twice (the diagnostics report the second), and
// reads only the shapes of pfz's keys, so a hostile file cannot make it
// expand aliases without end.
type codecRegistry struct{}

func (codecRegistry) Decoder(format string) (viper.Decoder, error) {
	if format != "yaml" {
		return nil, fmt.Errorf("pfz reads only YAML configuration, not %s", format)
	}
	return yamlCodec{}, nil
}

type yamlCodec struct{}

func (yamlCodec) Decode(data []byte, out map[string]any) error {
	root, err := parseRoot(data)
	if err != nil || root == nil {
		return err
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("the config file must be a mapping of keys to values")
	}
	decodeMapping(root, "", out)
	return nil
}

// decodeMapping copies the settings of m into out: scalars as text, the
// mappings that hold dotted keys (auth:) as maps, anything else as an empty
// list (the diagnostics have said why it cannot be used).
func decodeMapping(m *yaml.Node, prefix string, out map[string]any) {
	forEachSetting(m, prefix, func(key, name string, _, v *yaml.Node) {
		if _, dup := out[name]; dup {
			return
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
			out[name] = nil
		case v.Kind == yaml.ScalarNode:
			out[name] = v.Value
		case v.Kind == yaml.MappingNode && hasKeyPrefix(key+"."):
			sub := map[string]any{}
			decodeMapping(v, key+".", sub)
			out[name] = sub
		default:
			out[name] = []any{}
		}
	})
}

// parseRoot decodes the first document of data and returns its top node, or
// nil for an empty or null document.
func parseRoot(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := flow.SafeDecode(yaml.NewDecoder(bytes.NewReader(data)), &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.DocumentNode || root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// forEachSetting calls fn for each key of mapping m, with the key's full
// dotted name lowercased (key) and as viper stores it in this mapping (name,
// also lowercased), following an alias value once.
func forEachSetting(m *yaml.Node, prefix string, fn func(key, name string, k, v *yaml.Node)) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		name := strings.ToLower(k.Value)
		fn(prefix+name, name, k, v)
	}
}
