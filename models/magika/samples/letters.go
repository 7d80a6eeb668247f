package main

import (
	"fmt"
	"sort"
	"strings"
)

// main prints the distinct letters of a sentence in order.
func main() {
	sentence := "the quick brown fox jumps over the lazy dog"
	seen := map[rune]bool{}
	for _, r := range strings.ReplaceAll(sentence, " ", "") {
		seen[r] = true
	}
	letters := make([]string, 0, len(seen))
	for r := range seen {
		letters = append(letters, string(r))
	}
	sort.Strings(letters)
	fmt.Println(strings.Join(letters, ""))
}
