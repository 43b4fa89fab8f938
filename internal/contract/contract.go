// Package contract is what the Pulumi program, the deploy tool and the
// workflows agree on, without any cloud provider: the stack's config keys
// with their parsing and validation, the stack's output names, the
// container's name, the tag of deployed images and the grammar of the
// update messages the tool writes to the stack's history.
//
// It imports neither pulumi-aws nor pulumi-github, so that the deploy
// tool's decisions and their tests build without them.
package contract

// Stack output names; the deploy tool and the workflows read these.
const (
	OutRepositoryURL     = "repositoryUrl"
	OutClusterName       = "clusterName"
	OutServiceName       = "serviceName"
	OutServiceURL        = "serviceUrl"
	OutTaskDefinitionArn = "taskDefinitionArn"
	OutDeployRoleArn     = "deployRoleArn"
	OutPreviewRoleArn    = "previewRoleArn"
	OutRegion            = "region"
	OutImageTag          = "imageTag"
)

// ContainerName is the name of the service's container in its task
// definition: the tool reads the image ECS runs from it.
const ContainerName = "app"

// DeployedTagPrefix starts the second tag the deploy tool gives an image
// once ECS verifiably runs it (deployed-<sha>). The lifecycle policy keeps
// the newest rollback window of such images however many images were
// pushed since: pushes whose deploys were refused or rolled back cannot
// push out the image production runs, nor the versions to roll back to.
const DeployedTagPrefix = "deployed-"

// DefaultBranch is the application repository's branch CD deploys from;
// the program commits the workflow files to it.
const DefaultBranch = "main"

// Clip cuts text echoed back in an error to about 80 characters: a pasted
// log or a megabyte argument is not repeated back.
func Clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
