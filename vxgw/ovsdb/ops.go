package ovsdb

import (
	"fmt"
	"strconv"
	"time"
)

// Operation is one operation of a transaction: [Insert], [Select],
// [Update], [Mutate], [Delete], [Wait], [Commit], [Abort], [Comment] or
// [Assert]. The interface is sealed.
type Operation interface {
	// Op returns the operation's name on the wire ("insert", ...).
	Op() string
	appendJSON(buf []byte) ([]byte, error)
}

// Function is a condition's comparison.
type Function string

// The functions of RFC 7047 conditions. Sets and maps support only ==, !=,
// includes and excludes.
const (
	FuncLT       Function = "<"
	FuncLE       Function = "<="
	FuncEQ       Function = "=="
	FuncNE       Function = "!="
	FuncGE       Function = ">="
	FuncGT       Function = ">"
	FuncIncludes Function = "includes"
	FuncExcludes Function = "excludes"
)

// Condition selects rows: Column Function Value, [column, function, value]
// on the wire. The column may be "_uuid".
type Condition struct {
	Column   string
	Function Function
	Value    any
}

// Cond returns the condition column fn value.
func Cond(column string, fn Function, value any) Condition {
	return Condition{Column: column, Function: fn, Value: value}
}

// Mutator is a mutation's operator.
type Mutator string

// The mutators of RFC 7047: arithmetic on integer and real columns (and on
// every element of sets of them), insert and delete on sets and maps
// (delete on a map takes a set of keys or a map of pairs).
const (
	MutAdd    Mutator = "+="
	MutSub    Mutator = "-="
	MutMul    Mutator = "*="
	MutDiv    Mutator = "/="
	MutMod    Mutator = "%="
	MutInsert Mutator = "insert"
	MutDelete Mutator = "delete"
)

// Mutation changes a column in place: [column, mutator, value] on the
// wire.
type Mutation struct {
	Column  string
	Mutator Mutator
	Value   any
}

// Insert inserts Row into Table. UUIDName, when set, names the new row
// for later operations of the same transaction ([NamedUUID]). Its result
// has the row's UUID.
type Insert struct {
	Table    string
	Row      Row
	UUIDName string
}

// Select returns the rows of Table matching Where (all rows when empty),
// with the Columns listed (all when empty). Its result has the rows.
type Select struct {
	Table   string
	Where   []Condition
	Columns []string
}

// Update sets the columns of Row in the rows of Table matching Where. Its
// result has the number of matching rows.
type Update struct {
	Table string
	Where []Condition
	Row   Row
}

// Mutate applies Mutations to the rows of Table matching Where. Its result
// has the number of matching rows.
type Mutate struct {
	Table     string
	Where     []Condition
	Mutations []Mutation
}

// Delete deletes the rows of Table matching Where. Its result has the
// number of deleted rows.
type Delete struct {
	Table string
	Where []Condition
}

// WaitUntil is the comparison of a Wait.
type WaitUntil string

// The two comparisons of Wait.
const (
	WaitEqual    WaitUntil = "=="
	WaitNotEqual WaitUntil = "!="
)

// Wait makes the transaction wait until the Columns of the rows of Table
// matching Where are (Until ==) or are not (Until !=) exactly Rows. It
// fails with [ErrTimedOut] after Timeout (millisecond resolution); a zero
// Timeout checks once, a negative one waits without limit.
type Wait struct {
	Table   string
	Where   []Condition
	Columns []string
	Until   WaitUntil
	Rows    []Row
	Timeout time.Duration
}

// Commit asks for the transaction to be written to disk before the reply
// when Durable is set.
type Commit struct{ Durable bool }

// Abort aborts the transaction: it fails with "aborted".
type Abort struct{}

// Comment adds a comment to the database log.
type Comment struct{ Comment string }

// Assert fails the transaction unless the client holds Lock.
type Assert struct{ Lock string }

// Op implements Operation.
func (Insert) Op() string { return "insert" }

// Op implements Operation.
func (Select) Op() string { return "select" }

// Op implements Operation.
func (Update) Op() string { return "update" }

// Op implements Operation.
func (Mutate) Op() string { return "mutate" }

// Op implements Operation.
func (Delete) Op() string { return "delete" }

// Op implements Operation.
func (Wait) Op() string { return "wait" }

// Op implements Operation.
func (Commit) Op() string { return "commit" }

// Op implements Operation.
func (Abort) Op() string { return "abort" }

// Op implements Operation.
func (Comment) Op() string { return "comment" }

// Op implements Operation.
func (Assert) Op() string { return "assert" }

// opStart appends {"op":"name","table":"table".
func opStart(buf []byte, op, table string) []byte {
	buf = append(buf, `{"op":"`...)
	buf = append(buf, op...)
	buf = append(buf, '"')
	if table != "" {
		buf = append(buf, `,"table":`...)
		buf = appendString(buf, table)
	}
	return buf
}

func appendWhere(buf []byte, where []Condition) ([]byte, error) {
	buf = append(buf, `,"where":[`...)
	for i, c := range where {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendTriple(buf, c.Column, string(c.Function), c.Value); err != nil {
			return buf, err
		}
	}
	return append(buf, ']'), nil
}

// appendTriple appends [column, operator, value].
func appendTriple(buf []byte, column, operator string, value any) ([]byte, error) {
	buf = append(buf, '[')
	buf = appendString(buf, column)
	buf = append(buf, ',')
	buf = appendString(buf, operator)
	buf = append(buf, ',')
	buf, err := appendValue(buf, value)
	if err != nil {
		return buf, fmt.Errorf("%s %s: %w", column, operator, err)
	}
	return append(buf, ']'), nil
}

func appendColumns(buf []byte, columns []string) []byte {
	buf = append(buf, `,"columns":[`...)
	for i, c := range columns {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, c)
	}
	return append(buf, ']')
}

func (o Insert) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "insert", o.Table)
	buf = append(buf, `,"row":`...)
	buf, err := appendRow(buf, o.Row)
	if err != nil {
		return buf, err
	}
	if o.UUIDName != "" {
		if !validID(o.UUIDName) {
			return buf, encodeErrorf("uuid-name %q is not an identifier", o.UUIDName)
		}
		buf = append(buf, `,"uuid-name":`...)
		buf = appendString(buf, o.UUIDName)
	}
	return append(buf, '}'), nil
}

func (o Select) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "select", o.Table)
	buf, err := appendWhere(buf, o.Where)
	if err != nil {
		return buf, err
	}
	if len(o.Columns) > 0 {
		buf = appendColumns(buf, o.Columns)
	}
	return append(buf, '}'), nil
}

func (o Update) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "update", o.Table)
	buf, err := appendWhere(buf, o.Where)
	if err != nil {
		return buf, err
	}
	buf = append(buf, `,"row":`...)
	if buf, err = appendRow(buf, o.Row); err != nil {
		return buf, err
	}
	return append(buf, '}'), nil
}

func (o Mutate) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "mutate", o.Table)
	buf, err := appendWhere(buf, o.Where)
	if err != nil {
		return buf, err
	}
	buf = append(buf, `,"mutations":[`...)
	for i, m := range o.Mutations {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = appendTriple(buf, m.Column, string(m.Mutator), m.Value); err != nil {
			return buf, err
		}
	}
	return append(buf, "]}"...), nil
}

func (o Delete) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "delete", o.Table)
	buf, err := appendWhere(buf, o.Where)
	if err != nil {
		return buf, err
	}
	return append(buf, '}'), nil
}

func (o Wait) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "wait", o.Table)
	buf, err := appendWhere(buf, o.Where)
	if err != nil {
		return buf, err
	}
	buf = appendColumns(buf, o.Columns)
	until := o.Until
	if until == "" {
		until = WaitEqual
	}
	buf = append(buf, `,"until":`...)
	buf = appendString(buf, string(until))
	buf = append(buf, `,"rows":[`...)
	for i, r := range o.Rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = appendRow(buf, r); err != nil {
			return buf, err
		}
	}
	buf = append(buf, ']')
	if o.Timeout >= 0 {
		buf = append(buf, `,"timeout":`...)
		buf = strconv.AppendInt(buf, o.Timeout.Milliseconds(), 10)
	}
	return append(buf, '}'), nil
}

func (o Commit) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "commit", "")
	buf = append(buf, `,"durable":`...)
	return append(strconv.AppendBool(buf, o.Durable), '}'), nil
}

func (Abort) appendJSON(buf []byte) ([]byte, error) {
	return append(opStart(buf, "abort", ""), '}'), nil
}

func (o Comment) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "comment", "")
	buf = append(buf, `,"comment":`...)
	return append(appendString(buf, o.Comment), '}'), nil
}

func (o Assert) appendJSON(buf []byte) ([]byte, error) {
	buf = opStart(buf, "assert", "")
	buf = append(buf, `,"lock":`...)
	return append(appendString(buf, o.Lock), '}'), nil
}
