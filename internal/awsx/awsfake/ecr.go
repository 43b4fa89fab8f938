package awsfake

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

type describeImagesInput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	ImageIDs       []struct {
		ImageTag    string `json:"imageTag"`
		ImageDigest string `json:"imageDigest"`
	} `json:"imageIds"`
	Filter struct {
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
	registry := cmp.Or(in.RegistryID, Account)
	tags, ok := s.repos[in.RepositoryName]
	if !ok || registry != Account {
		return nil, clientError("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, registry)
	}
	detail := func(tag string, img *image) wireImageDetail {
		return wireImageDetail{
			RegistryID: Account, RepositoryName: in.RepositoryName, ImageDigest: img.digest, ImageTags: []string{tag},
			ImageSizeInBytes: 52428800, ImagePushedAt: epoch(img.pushedAt),
			ImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json", ImageStatus: img.status,
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

// nullIfEmpty renders absent fields the way ECR's messages do.
func nullIfEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "null"
	}
	return s
}
