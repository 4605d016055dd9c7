package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// writeReply prints a reply as indented JSON (the default), or as a table for people: a list's
// items (or a chart's points) one row each, any other result as field/value rows, a command's events after it.
func writeReply(w io.Writer, raw []byte, output string) error {
	if output == "json" {
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			out.Write(raw)
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Events []struct {
			Type     string `json:"type"`
			Sequence uint64 `json:"sequence"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("unreadable reply: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// A list's rows are its items, or a chart's points (dashboard.history).
	var list struct {
		Items  []map[string]any `json:"items"`
		Points []map[string]any `json:"points"`
		Next   string           `json:"next"`
	}
	var object map[string]any
	switch {
	case json.Unmarshal(reply.Result, &list) == nil && (list.Items != nil || list.Points != nil):
		if list.Items == nil {
			list.Items = list.Points
		}
		for i := range list.Items {
			list.Items[i] = flatten(list.Items[i])
		}
		cols := columns(list.Items)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
		for _, it := range list.Items {
			cells := make([]string, len(cols))
			for i, c := range cols {
				cells[i] = cut(cell(it[c]), maxCell)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if list.Next != "" {
			fmt.Fprintf(tw, "\nmore after %s (pass --after %s)\n", list.Next, list.Next)
		}
	case json.Unmarshal(reply.Result, &object) == nil:
		object = flatten(object)
		keys := make([]string, 0, len(object))
		for k := range object {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, byColumn)
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\n", k, cell(object[k]))
		}
	default:
		fmt.Fprintf(tw, "%s\n", reply.Result)
	}
	for _, e := range reply.Events {
		fmt.Fprintf(tw, "event\t%s at sequence %d\n", e.Type, e.Sequence)
	}
	return tw.Flush()
}

// flatten turns nested objects into columns of their own: {"quota": {"active": 2}} becomes
// {"quota.active": 2}. An expanded code ({"code", "displayAs"}) stays one value.
func flatten(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		obj, ok := v.(map[string]any)
		if _, code := obj["displayAs"]; !ok || code || len(obj) == 0 {
			out[k] = v
			continue
		}
		for k2, v2 := range flatten(obj) {
			out[k+"."+k2] = v2
		}
	}
	return out
}

// maxCell is the widest a list's cell is shown; a longer value is cut, with an ellipsis.
const maxCell = 40

// cut shortens s to at most n characters, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// columns are the keys of a list's items, ids first.
func columns(items []map[string]any) []string {
	seen := map[string]bool{}
	var cols []string
	for _, it := range items {
		for k := range it {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	slices.SortFunc(cols, byColumn)
	return cols
}

// byColumn orders ids first, then alphabetically.
func byColumn(a, b string) int {
	ida, idb := a == "id" || strings.HasSuffix(a, "Id"), b == "id" || strings.HasSuffix(b, "Id")
	switch {
	case ida && !idb:
		return -1
	case idb && !ida:
		return 1
	}
	return strings.Compare(a, b)
}

// cell shows one value in a table: scalars as they are, lists by their length, objects as
// compact JSON (an expanded code as its displayAs).
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		return v
	case []any:
		return fmt.Sprintf("[%d]", len(v))
	case map[string]any:
		if d, ok := v["displayAs"].(string); ok {
			return d
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
