package simulation

import (
	"io"
	"strconv"
	"strings"
)

// TextOptions says how WriteTextOptions renders a trace.
type TextOptions struct {
	// Tags adds the flow's invalidation tags, one "tag:" line each.
	Tags bool
	// Legend adds a line explaining the flow classes after the verdict.
	Legend bool
	// Rule, if set, renders the rule of a "rule" step (its chain's ID and
	// index) as text, e.g. as the topology file writes it; the step then
	// reads "rule 2 [accept tcp dst 22]: match, accept".
	Rule func(chain string, index int) (string, bool)
}

// FlowLegend explains the flow classes of a trace's verdict line.
const FlowLegend = "flow classes: normal = a datapath flow with the normal timeout; short = a datapath flow with a short timeout (the decision may change soon); none = no flow, every such packet is simulated"

// WriteText writes t as indented text, tags included.
func (t *Trace) WriteText(w io.Writer) error { return t.WriteTextOptions(w, TextOptions{Tags: true}) }

// WriteTextOptions writes t as indented text as o says.
func (t *Trace) WriteTextOptions(w io.Writer, o TextOptions) error {
	var b strings.Builder
	b.WriteString("packet: ")
	b.WriteString(t.Packet)
	b.WriteByte('\n')
	for _, s := range t.Steps {
		b.WriteString(strings.Repeat("  ", s.Depth))
		b.WriteString(s.Kind)
		if s.Object != "" {
			b.WriteByte(' ')
			b.WriteString(s.Object)
		}
		b.WriteString(": ")
		text := s.Text
		if s.Rule != nil && o.Rule != nil {
			if r, ok := o.Rule(s.Chain, *s.Rule); ok {
				if _, after, found := strings.Cut(text, ": "); found {
					text = "rule " + strconv.Itoa(*s.Rule) + " [" + r + "]: " + after
				}
			}
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	b.WriteString("verdict: ")
	b.WriteString(t.Verdict)
	if t.Reason != "" {
		b.WriteString(" (")
		b.WriteString(t.Reason)
		b.WriteByte(')')
	}
	b.WriteString(", flow ")
	b.WriteString(t.Flow)
	b.WriteByte('\n')
	if o.Legend {
		b.WriteString("  (" + FlowLegend + ")\n")
	}
	for _, o := range t.Outputs {
		b.WriteString("output: ")
		b.WriteString(o.Port)
		if len(o.Rewrites) > 0 {
			b.WriteString(" after ")
			b.WriteString(strings.Join(o.Rewrites, ", "))
		}
		b.WriteByte('\n')
	}
	for _, g := range t.Generated {
		b.WriteString("generated: out of ")
		b.WriteString(g.Port)
		b.WriteString(": ")
		b.WriteString(g.Packet)
		b.WriteByte('\n')
	}
	if t.Waiting != "" {
		b.WriteString("waiting: ")
		b.WriteString(t.Waiting)
		b.WriteByte('\n')
	}
	for _, l := range t.Learned {
		b.WriteString("learned: ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, l := range t.Writes {
		b.WriteString("write: ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString("megaflow: ")
	b.WriteString(strings.Join(t.Seen, ","))
	b.WriteByte('\n')
	for _, tag := range t.Tags {
		if !o.Tags {
			break
		}
		b.WriteString("tag: ")
		b.WriteString(tag)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the text form of t.
func (t *Trace) String() string {
	var b strings.Builder
	_ = t.WriteText(&b)
	return b.String()
}
