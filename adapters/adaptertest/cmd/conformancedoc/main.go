// Command conformancedoc writes docs/conformance.md, the capability matrix
// of the conformance suite, from the columns that conformance runs wrote
// into the directories given as arguments ($POLYFN_CONFORMANCE_OUT); the
// columns already in the document stay for the platforms no directory has.
// Without arguments it renders the document again from its own data.
//
//	dir=$(mktemp -d)
//	POLYFN_CONFORMANCE_OUT=$dir go test -count=1 -run '^TestConformance$' ./adapters/local ./adapters/awslambda ./adapters/gcpfunctions ./adapters/azurefunctions
//	go run ./adapters/adaptertest/cmd/conformancedoc $dir
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/polyfn/polyfn/adapters/adaptertest"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: conformancedoc [column directory]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "conformancedoc:", err)
		os.Exit(1)
	}
}

func run(dirs []string) error {
	root, err := adaptertest.ModuleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, adaptertest.DocPath)
	var cols []adaptertest.Column
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if cols, err = adaptertest.ParseDoc(old); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	for _, dir := range dirs {
		updates, err := adaptertest.ReadColumns(dir)
		if err != nil {
			return err
		}
		if len(updates) == 0 {
			return fmt.Errorf("%s holds no columns", dir)
		}
		cols = adaptertest.MergeColumns(cols, updates)
	}
	if err := adaptertest.CheckColumns(cols); err != nil {
		return err
	}
	doc, err := adaptertest.RenderDoc(cols)
	if err != nil {
		return err
	}
	return os.WriteFile(path, doc, 0o644)
}
