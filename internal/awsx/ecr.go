package awsx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ImageExists reports whether repository (a repository URL such as
// 123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service, or a bare name) holds tag.
//
// A missing tag is (false, nil); a missing repository is an error naming it, since that points at a
// wrong name, account or region rather than an image that was never pushed. When the URL names an ECR
// registry, its account is queried, so cross-account repositories work. An image that exists but is
// archived is an error too: ECS cannot pull it until it is restored. All its requests share one
// call deadline (Timeouts.Call).
func (c *Client) ImageExists(ctx context.Context, repository, tag string) (bool, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	host, name := splitRepository(repository)
	if name == "" {
		return false, fmt.Errorf("no ECR repository name in %q", repository)
	}
	if tag == "" {
		return false, fmt.Errorf("no image tag to look up in ECR repository %s", name)
	}
	in := &ecr.DescribeImagesInput{
		RepositoryName: &name,
		RegistryId:     optional(registryID(host)),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: &tag}},
	}
	out, err := c.ecr.DescribeImages(ctx, in)
	var noImage *ecrtypes.ImageNotFoundException
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noImage):
		// ECR describes only ACTIVE images unless asked for others: ask
		// again for any status, to tell an archived image (which can be
		// restored) from one that is gone. Only a better message rides on
		// this; any error of it means "not found".
		in.Filter = &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterAny}
		if out, err := c.ecr.DescribeImages(ctx, in); err == nil && len(out.ImageDetails) > 0 {
			return false, unavailable(name, tag, out.ImageDetails[0].ImageStatus)
		}
		return false, nil
	case errors.As(err, &noRepo):
		where := "region " + c.region
		if in.RegistryId != nil {
			where = "registry " + *in.RegistryId + ", " + where
		}
		return false, fmt.Errorf("ECR repository %s not found (%s): %w", name, where, err)
	case err != nil:
		return false, fmt.Errorf("look up image %s:%s in ECR: %w", name, tag, err)
	}
	for _, d := range out.ImageDetails {
		if d.ImageStatus == "" || d.ImageStatus == ecrtypes.ImageStatusActive {
			return true, nil
		}
	}
	if len(out.ImageDetails) > 0 {
		return false, unavailable(name, tag, out.ImageDetails[0].ImageStatus)
	}
	return false, nil
}

// manifestMediaTypes are the manifest types AddTag accepts from ECR, so
// that it gets the stored manifest back unconverted, an image index
// (multi-platform, or with attestations) included.
var manifestMediaTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// AddTag gives the image repository:tag a second tag, newTag, the way ECR
// retags: PutImage of the same manifest under newTag. newTag already on
// that image is success, so AddTag can be repeated. All its requests share one call deadline.
func (c *Client) AddTag(ctx context.Context, repository, tag, newTag string) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	host, name := splitRepository(repository)
	if name == "" {
		return fmt.Errorf("no ECR repository name in %q", repository)
	}
	registry := optional(registryID(host))
	got, err := c.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{
		RepositoryName:     &name,
		RegistryId:         registry,
		ImageIds:           []ecrtypes.ImageIdentifier{{ImageTag: &tag}},
		AcceptedMediaTypes: manifestMediaTypes,
	})
	if err != nil {
		return fmt.Errorf("read the manifest of %s:%s: %w", name, tag, err)
	}
	if len(got.Images) == 0 {
		reason := "not returned"
		if len(got.Failures) > 0 {
			reason = string(got.Failures[0].FailureCode) + ": " + aws.ToString(got.Failures[0].FailureReason)
		}
		return fmt.Errorf("read the manifest of %s:%s: %s", name, tag, reason)
	}
	img := got.Images[0]
	_, err = c.ecr.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName:         &name,
		RegistryId:             registry,
		ImageManifest:          img.ImageManifest,
		ImageManifestMediaType: img.ImageManifestMediaType,
		ImageDigest:            img.ImageId.ImageDigest,
		ImageTag:               &newTag,
	})
	var exists *ecrtypes.ImageAlreadyExistsException
	var tagExists *ecrtypes.ImageTagAlreadyExistsException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exists) && !errors.As(err, &tagExists):
		return fmt.Errorf("tag %s:%s as %s: %w", name, tag, newTag, err)
	}
	// newTag exists. ECR answers ImageTagAlreadyExists in an IMMUTABLE
	// repository even when the tag is on this very image, so the digests
	// decide whether the image is already tagged.
	on, derr := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: &name,
		RegistryId:     registry,
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: &newTag}},
		Filter:         &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterAny},
	})
	if derr != nil || len(on.ImageDetails) == 0 {
		return fmt.Errorf("tag %s:%s as %s: %w (and the image holding %s could not be described: %v)", name, tag, newTag, err, newTag, derr)
	}
	if d := aws.ToString(on.ImageDetails[0].ImageDigest); d != aws.ToString(img.ImageId.ImageDigest) {
		return fmt.Errorf("tag %s:%s as %s: the tag is already on another image (%s): %w", name, tag, newTag, d, err)
	}
	return nil
}

// unavailable is the error of an image ECR has but ECS cannot pull.
func unavailable(name, tag string, status ecrtypes.ImageStatus) error {
	return fmt.Errorf("image %s:%s is %s in ECR; ECS cannot pull it until it is restored: %w", name, tag, status, ErrImageUnavailable)
}

// splitRepository splits an image reference into registry host and repository name, dropping any
// scheme, tag or digest. As in Docker, the first path element is a host only when it looks like one
// (contains "." or ":", or is "localhost"), so "team/api" stays a namespaced name.
func splitRepository(ref string) (host, name string) {
	ref = strings.TrimSpace(ref)
	if _, rest, ok := strings.Cut(ref, "://"); ok {
		ref = rest
	}
	if first, rest, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, ref = first, rest
	}
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		ref = ref[:at]
	}
	if colon := strings.LastIndexByte(ref, ':'); colon > strings.LastIndexByte(ref, '/') {
		ref = ref[:colon]
	}
	return host, strings.Trim(ref, "/")
}

// registryID returns the account ID of an ECR registry host
// (123456789012.dkr.ecr.<region>.amazonaws.com, also -fips and .cn forms), or "" for other hosts.
func registryID(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) < 4 || labels[1] != "dkr" || !strings.HasPrefix(labels[2], "ecr") || len(labels[0]) != 12 {
		return ""
	}
	for _, r := range labels[0] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return labels[0]
}

// ImageDigest is the digest of the image that repository (a repository URL or a bare name, as for
// ImageExists) holds under tag, whatever its status: an archived image keeps its digest. No image
// under tag is ("", false, nil); a missing repository is an error naming it. Promote compares the
// digest one stack verifiably ran with the one another stack would pull. It makes one
// DescribeImages request, within the call deadline (Timeouts.Call).
func (c *Client) ImageDigest(ctx context.Context, repository, tag string) (string, bool, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	host, name := splitRepository(repository)
	if name == "" {
		return "", false, fmt.Errorf("no ECR repository name in %q", repository)
	}
	if tag == "" {
		return "", false, fmt.Errorf("no image tag to look up in ECR repository %s", name)
	}
	in := &ecr.DescribeImagesInput{
		RepositoryName: &name,
		RegistryId:     optional(registryID(host)),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: &tag}},
		Filter:         &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterAny},
	}
	out, err := c.ecr.DescribeImages(ctx, in)
	var noImage *ecrtypes.ImageNotFoundException
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noImage):
		return "", false, nil
	case errors.As(err, &noRepo):
		where := "region " + c.region
		if in.RegistryId != nil {
			where = "registry " + *in.RegistryId + ", " + where
		}
		return "", false, fmt.Errorf("ECR repository %s not found (%s): %w", name, where, err)
	case err != nil:
		return "", false, fmt.Errorf("look up the digest of %s:%s in ECR: %w", name, tag, err)
	}
	for _, d := range out.ImageDetails {
		if digest := aws.ToString(d.ImageDigest); digest != "" {
			return digest, true, nil
		}
	}
	return "", false, nil
}
