package serviceinstance

import "fmt"

// closest suggests the name nearest to value, when one is near.
func closest(value string, names []string) string {
	best, bestDist := "", len(value)/2+2
	for _, n := range names {
		if d := distance(value, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" || best == value {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
