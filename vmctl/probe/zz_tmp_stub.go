package probe

import (
	"context"

	"github.com/vmdump/vmdump/vmctl/sshconn"
)

func FindContainer(ctx context.Context, c *sshconn.Conn, ref ContainerRef) (Container, bool, error) {
	return Container{}, false, nil
}
