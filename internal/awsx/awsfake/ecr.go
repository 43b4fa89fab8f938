package awsfake

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

type describeImagesInput struct {
	RegistryID     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	ImageIDs       imageIDs `json:"imageIds"`
	Filter         struct {
		ImageStatus string `json:"imageStatus"`
	} `json:"filter"`
}

// statusMatches applies ECR's image status filter: without one, only
// ACTIVE images are described.
func statusMatches(filter, status string) bool {
	switch filter {
	case "ANY":
		return true
	case "":
		return status == "ACTIVE"
	}
	return filter == status
}

type wireImageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          epoch    `json:"imagePushedAt"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ImageStatus            string   `json:"imageStatus"`
}

func (s *Server) describeImages(in describeImagesInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, apiErr := s.repository(in.RegistryID, in.RepositoryName)
	if apiErr != nil {
		return nil, apiErr
	}
	detail := func(tag string, img *image) wireImageDetail {
		return wireImageDetail{
			RegistryID: Account, RepositoryName: in.RepositoryName, ImageDigest: img.digest, ImageTags: []string{tag},
			ImageSizeInBytes: 52428800, ImagePushedAt: epoch(img.pushedAt),
			ImageManifestMediaType: manifestMediaType, ImageStatus: img.status,
		}
	}
	var details []wireImageDetail
	if len(in.ImageIDs) == 0 {
		for _, tag := range slices.Sorted(maps.Keys(tags)) {
			if statusMatches(in.Filter.ImageStatus, tags[tag].status) {
				details = append(details, detail(tag, tags[tag]))
			}
		}
	}
	for _, id := range in.ImageIDs {
		found := false
		for tag, img := range tags {
			if (id.ImageTag == "" || id.ImageTag == tag) && (id.ImageDigest == "" || id.ImageDigest == img.digest) && statusMatches(in.Filter.ImageStatus, img.status) {
				details, found = append(details, detail(tag, img)), true
				break
			}
		}
		if !found {
			return nil, clientError("ImageNotFoundException",
				"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				nullIfEmpty(id.ImageDigest), nullIfEmpty(id.ImageTag), in.RepositoryName, Account)
		}
	}
	return map[string]any{"imageDetails": details}, nil
}

// manifestMediaType is the media type of every image the fake holds.
const manifestMediaType = "application/vnd.oci.image.manifest.v1+json"

// manifest is the stand-in manifest of an image: unique per digest, so
// that PutImage of it finds the image again.
func manifest(img *image) string {
	return `{"schemaVersion":2,"mediaType":"` + manifestMediaType + `","config":{"digest":"` + img.digest + `"}}`
}

type imageIDs []struct {
	ImageTag    string `json:"imageTag"`
	ImageDigest string `json:"imageDigest"`
}

type batchGetImageInput struct {
	RegistryID     string   `json:"registryId"`
	RepositoryName string   `json:"repositoryName"`
	ImageIDs       imageIDs `json:"imageIds"`
}

type wireImageID struct {
	ImageDigest string `json:"imageDigest"`
	ImageTag    string `json:"imageTag"`
}

type wireImage struct {
	RegistryID             string      `json:"registryId"`
	RepositoryName         string      `json:"repositoryName"`
	ImageID                wireImageID `json:"imageId"`
	ImageManifest          string      `json:"imageManifest"`
	ImageManifestMediaType string      `json:"imageManifestMediaType"`
}

// repository returns repository's tags, or ECR's error; the caller holds s.mu.
func (s *Server) repository(registryID, name string) (map[string]*image, *apiError) {
	registry := cmp.Or(registryID, Account)
	tags, ok := s.repos[name]
	if !ok || registry != Account {
		return nil, clientError("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", name, registry)
	}
	return tags, nil
}

// batchGetImage returns the manifests of ACTIVE images, and a failure for
// each image ID it cannot find, as ECR does.
func (s *Server) batchGetImage(in batchGetImageInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, err := s.repository(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	images, failures := []wireImage{}, []map[string]any{}
	for _, id := range in.ImageIDs {
		img := tags[id.ImageTag]
		if img == nil || img.status != "ACTIVE" || (id.ImageDigest != "" && id.ImageDigest != img.digest) {
			failures = append(failures, map[string]any{
				"imageId": wireImageID{ImageDigest: id.ImageDigest, ImageTag: id.ImageTag}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found",
			})
			continue
		}
		images = append(images, wireImage{
			RegistryID: Account, RepositoryName: in.RepositoryName, ImageID: wireImageID{ImageDigest: img.digest, ImageTag: id.ImageTag},
			ImageManifest: manifest(img), ImageManifestMediaType: manifestMediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

type putImageInput struct {
	RegistryID             string `json:"registryId"`
	RepositoryName         string `json:"repositoryName"`
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}

// putImage tags the image whose manifest it is given, as ECR does with
// IMMUTABLE tags: an existing tag is ImageTagAlreadyExists, even on that
// very image (aws/containers-roadmap#2179 reports this of IMMUTABLE
// repositories). Manifests of images the fake does not hold are refused
// (it stores no layers).
func (s *Server) putImage(in putImageInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, err := s.repository(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var target *image
	for _, img := range tags {
		if manifest(img) == in.ImageManifest {
			target = img
		}
	}
	if target == nil || (in.ImageDigest != "" && in.ImageDigest != target.digest) {
		return nil, clientError("ReferencedImagesNotFoundException", "the manifest references images this fake repository does not hold")
	}
	if s.tagsPut == nil {
		s.tagsPut = map[string][]string{}
	}
	if tags[in.ImageTag] != nil {
		return nil, clientError("ImageTagAlreadyExistsException",
			"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", in.ImageTag, in.RepositoryName)
	}
	tags[in.ImageTag] = target
	s.tagsPut[in.RepositoryName] = append(s.tagsPut[in.RepositoryName], in.ImageTag)
	return map[string]any{"image": wireImage{
		RegistryID: Account, RepositoryName: in.RepositoryName, ImageID: wireImageID{ImageDigest: target.digest, ImageTag: in.ImageTag},
		ImageManifest: in.ImageManifest, ImageManifestMediaType: cmp.Or(in.ImageManifestMediaType, manifestMediaType),
	}}, nil
}

// TagsPut returns the tags PutImage added to repository, in order.
func (s *Server) TagsPut(repository string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tagsPut[repository])
}

// nullIfEmpty renders absent fields the way ECR's messages do.
func nullIfEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "null"
	}
	return s
}
