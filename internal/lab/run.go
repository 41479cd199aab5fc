package lab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// run runs a short command to completion and returns its stdout. The error
// names the command and carries its stderr, which is where ip, useradd and
// friends say what went wrong.
func run(name string, args ...string) ([]byte, error) {
	return runInput(nil, name, args...)
}

// runInput is run with bytes on the command's stdin (chpasswd, ip -batch).
func runInput(stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, oneLine(stderr.String()))
	}
	return out, nil
}

// ipBatch runs several ip commands in one process, inside namespace ns
// ("" for the root namespace): one exec instead of a dozen keeps the lab
// quick to build.
func ipBatch(ns string, lines ...string) error {
	args := []string{"-batch", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err := runInput([]byte(strings.Join(lines, "\n")+"\n"), "ip", args...)
	return err
}

// oneLine squeezes a multi-line message into one line for an error.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
