// notecheck: an audit checkpoint checked by code no one at oa wrote.
//
// The signed note is opened by golang.org/x/mod/sumdb/note (the Go
// project's implementation of c2sp.org/signed-note, from Debian's
// golang-golang-x-mod-dev) with the published verifier key; the note text is
// then read as a c2sp.org/tlog-checkpoint.  Given an older note and a
// consistency proof, golang.org/x/mod/sumdb/tlog (RFC 6962 hashing) checks
// that the older tree is a prefix of the newer one.
//
//	notecheck VKEY NOTE [OLDER_NOTE PROOF]
//
// PROOF is one hash a line in hex, in RFC 9162 order.  Prints the origin,
// tree size and root of NOTE (and "consistent with M" for the proof); exit 0
// when everything verifies, 1 when anything is refused, 2 on a usage error.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func refuse(format string, args ...interface{}) {
	fmt.Printf("REFUSED: "+format+"\n", args...)
	os.Exit(1)
}

// open verifies the note at path with the one known key and parses its text.
func open(path string, verifiers note.Verifiers, keyName string) checkpoint {
	msg, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		refuse("%s: %v", path, err)
	}
	// c2sp.org/tlog-checkpoint: origin, tree size, root hash, then
	// optional non-empty extension lines.
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		refuse("%s: a checkpoint has at least three lines", path)
	}
	var c checkpoint
	c.origin = lines[0]
	if c.origin == "" || c.origin != keyName {
		refuse("%s: origin %q is not the key's name %q", path, c.origin, keyName)
	}
	c.size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || c.size < 0 || strconv.FormatInt(c.size, 10) != lines[1] {
		refuse("%s: bad tree size %q", path, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		refuse("%s: bad root hash %q", path, lines[2])
	}
	copy(c.root[:], root)
	for _, l := range lines[3:] {
		if l == "" {
			refuse("%s: an empty extension line", path)
		}
	}
	return c
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: notecheck VKEY NOTE [OLDER_NOTE PROOF]")
		os.Exit(2)
	}
	v, err := note.NewVerifier(os.Args[1])
	if err != nil {
		refuse("verifier key: %v", err)
	}
	known := note.VerifierList(v)
	c := open(os.Args[2], known, v.Name())
	fmt.Printf("origin %s\nsize %d\nroot %x\n", c.origin, c.size, c.root[:])
	if len(os.Args) == 5 {
		old := open(os.Args[3], known, v.Name())
		f, err := os.Open(os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var proof tlog.TreeProof
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			b, err := hex.DecodeString(strings.TrimSpace(sc.Text()))
			if err != nil || len(b) != tlog.HashSize {
				refuse("proof: bad hash %q", sc.Text())
			}
			var h tlog.Hash
			copy(h[:], b)
			proof = append(proof, h)
		}
		f.Close()
		if err := tlog.CheckTree(proof, c.size, c.root, old.size, old.root); err != nil {
			refuse("tree %d is not a prefix of tree %d: %v", old.size, c.size, err)
		}
		fmt.Printf("consistent with %d\n", old.size)
	}
}
