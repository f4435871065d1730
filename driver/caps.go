package main

import (
	"fmt"
	"slices"
	"strings"
)

// normalizeCaps upper-cases names and adds the CAP_ prefix OCI expects.
// Names are deliberately not checked against a list: crun is the authority
// on which capabilities exist and its complaint is surfaced instead.
func normalizeCaps(caps []string) []string {
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// taskCaps computes the container's capability set: the default set limited
// to allow_caps, minus cap_drop ("all" drops every default), plus cap_add,
// which must be within allow_caps.
func taskCaps(allow, add, drop []string) ([]string, error) {
	allow = normalizeCaps(allow)
	add = normalizeCaps(add)
	drop = normalizeCaps(drop)

	var notAllowed []string
	for _, c := range add {
		if !slices.Contains(allow, c) {
			notAllowed = append(notAllowed, c)
		}
	}
	if len(notAllowed) > 0 {
		return nil, fmt.Errorf("cap_add %s not allowed by the crunjar plugin's allow_caps (allowed: %s)",
			strings.Join(notAllowed, ", "), strings.Join(allow, ", "))
	}

	var caps []string
	if !slices.Contains(drop, "ALL") {
		for _, c := range defaultAllowCaps {
			if slices.Contains(allow, c) && !slices.Contains(drop, c) {
				caps = append(caps, c)
			}
		}
	}
	for _, c := range add {
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	slices.Sort(caps)
	return caps, nil
}
