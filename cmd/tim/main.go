// Command tim is the Tim instant-messaging server.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tim/internal/app"
	"tim/internal/pgcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			fmt.Fprintln(os.Stderr, "tim:", pgcluster.ErrNoBinaries)
		} else {
			fmt.Fprintln(os.Stderr, "tim:", err)
		}
		stop()
		os.Exit(1)
	}
}
