// Command standin takes the deploy tool's place in the signal test
// (workflows/signal_test.go): it says it started, with its arguments,
// blocks until SIGINT or SIGTERM, then prints "interrupted" and exits 1,
// as the tool does when a wait is interrupted.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	fmt.Printf("started pid=%d args=%s\n", os.Getpid(), strings.Join(os.Args[1:], " "))
	got := <-sig
	fmt.Printf("interrupted (%v)\n", got)
	os.Exit(1)
}
