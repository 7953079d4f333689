package pyjson

import (
	"encoding/json"
	"reflect"
	"strings"
)

// UnmarshalOrdered is Unmarshal that keeps each JSON object's key order
// wherever v holds plain values (an `any` field, the values of a
// map[string]any): there objects are Objects, as Decode makes them. Records
// read back (a parent run's outputs, a resumed run's lines) keep the order
// they were written in.
func UnmarshalOrdered(data []byte, v any) error {
	if err := Unmarshal(data, v); err != nil {
		return err
	}
	tree, err := Decode(data)
	if err != nil {
		return err
	}
	graft(reflect.ValueOf(v), tree)
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	objectType      = reflect.TypeFor[Object]()
)

// graft puts the ordered values of t into the plain-value slots of v, which
// encoding/json filled from the same text.
func graft(v reflect.Value, t any) {
	if v.Type() == objectType {
		if o, ok := t.(Object); ok && v.CanSet() {
			v.Set(reflect.ValueOf(o))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			graft(v.Elem(), t)
		}
	case reflect.Interface:
		if v.IsNil() || !v.CanSet() || v.NumMethod() != 0 {
			return
		}
		switch t.(type) {
		case Object, []any:
			v.Set(reflect.ValueOf(t))
		}
	case reflect.Map:
		o, ok := t.(Object)
		if !ok || v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		et := v.Type().Elem()
		for _, m := range o {
			key := reflect.ValueOf(m.Key).Convert(v.Type().Key())
			cur := v.MapIndex(key)
			if !cur.IsValid() {
				continue
			}
			if et.Kind() == reflect.Interface {
				if et.NumMethod() == 0 && !cur.IsNil() {
					switch m.Value.(type) {
					case Object, []any:
						v.SetMapIndex(key, reflect.ValueOf(m.Value))
					}
				}
				continue
			}
			switch et.Kind() {
			case reflect.Struct, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array:
				tmp := reflect.New(et).Elem()
				tmp.Set(cur)
				graft(tmp, m.Value)
				v.SetMapIndex(key, tmp)
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := t.([]any)
		if !ok {
			return
		}
		for i := 0; i < v.Len() && i < len(arr); i++ {
			graft(v.Index(i), arr[i])
		}
	case reflect.Struct:
		o, ok := t.(Object)
		if !ok || (v.CanAddr() && v.Addr().Type().Implements(unmarshalerType)) {
			return
		}
		graftStruct(v, o)
	}
}

func graftStruct(v reflect.Value, o Object) {
	typ := v.Type()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			fv := v.Field(i)
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				graftStruct(fv, o)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if val, ok := memberFold(o, name); ok {
			graft(v.Field(i), val)
		}
	}
}

// memberFold finds a member as encoding/json matches a field: the exact
// name, else the first case-insensitive match.
func memberFold(o Object, name string) (any, bool) {
	if val, ok := o.Get(name); ok {
		return val, true
	}
	for _, m := range o {
		if strings.EqualFold(m.Key, name) {
			return m.Value, true
		}
	}
	return nil, false
}
