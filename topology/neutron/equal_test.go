package neutron

import (
	"reflect"
	"testing"

	"github.com/hivenet/hivenet/topology"
)

// sameCondition compares every field of topology.Condition; a field added
// there must be added here, or diffs would miss changes of it.
func TestSameConditionCoversCondition(t *testing.T) {
	if n := reflect.TypeFor[topology.Condition]().NumField(); n != conditionFields {
		t.Fatalf("topology.Condition has %d fields, sameCondition compares %d: update it", n, conditionFields)
	}
	// Each field, set alone, makes two conditions differ.
	typ := reflect.TypeFor[topology.Condition]()
	for i := range typ.NumField() {
		var a, b topology.Condition
		f := reflect.ValueOf(&b).Elem().Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8:
			f.SetUint(1)
		case reflect.Struct: // a Cond: set its Set flag
			f.FieldByName("Set").SetBool(true)
		default:
			t.Fatalf("field %s of kind %s: teach this test", typ.Field(i).Name, f.Kind())
		}
		if sameCondition(&a, &b) {
			t.Errorf("sameCondition does not compare %s", typ.Field(i).Name)
		}
	}
}
