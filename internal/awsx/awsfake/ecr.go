package awsfake

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// The ECR model. A repository holds images keyed by digest (the sha256 of the manifest, as in the
// OCI distribution spec); an image carries every tag it has, or none. Sources:
//   - Tag mutability: "After tag immutability is turned on, the ImageTagAlreadyExistsException error
//     is returned if you push an image with a tag that is already in the repository. Tag
//     immutability affects all tags." (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html)
//     That includes a re-tag of the very image holding the tag (aws/containers-roadmap#2179).
//   - ImageAlreadyExistsException: "The specified image has already been pushed, and there were no
//     changes to the manifest or image tag after the last push." (aws-sdk-go-v2 service/ecr/types).
//   - Archived images: "Archived images cannot be pulled ... it can still be described using the
//     describe-images command ... The image status will be shown as ARCHIVED."
//     (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html), and
//     DescribeImagesFilter.ImageStatus: "If not specified, only images with ACTIVE status are
//     returned." (aws-sdk-go-v2 service/ecr/types).
//   - Image indexes: "A manifest list can be pulled or referenced in an Amazon ECS task definition
//     ... like other Amazon ECR images." (https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-push-multi-architecture-image.html);
//     its platform and attestation manifests are images of their own, untagged.
//   - Deleting: "You can remove a tag from an image by specifying the image's tag in your request.
//     When you remove the last tag from an image, the image is deleted from your repository. You
//     can completely delete an image (and all of its tags) by specifying the image's digest in your
//     request." (aws-sdk-go-v2 service/ecr, BatchDeleteImage). An image ID it cannot delete is a
//     failure of the batch, not an error of the call (BatchDeleteImageOutput.Failures, with the
//     ImageFailureCode values ImageNotFound, ImageTagDoesNotMatchDigest, MissingDigestAndTag and
//     ImageReferencedByManifestList). Tag immutability is about pushes of a tag that is "already in
//     the repository": once deleted, a tag can be pushed again, with another manifest, even in an
//     IMMUTABLE repository.

// Tag mutability settings of a repository (ECR's ImageTagMutability).
const (
	Mutable   = "MUTABLE"
	Immutable = "IMMUTABLE"
)

// Manifest media types the fake stores.
const (
	ManifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	IndexMediaType    = "application/vnd.oci.image.index.v1+json"
)

type repository struct {
	name, mutability string
	images           []*image // in push order
}

type image struct {
	digest, manifest, mediaType, status string
	tags                                []string
	pushedAt                            epoch
}

// byTag returns the image holding tag, or nil.
func (r *repository) byTag(tag string) *image {
	for _, img := range r.images {
		if slices.Contains(img.tags, tag) {
			return img
		}
	}
	return nil
}

func (r *repository) byDigest(digest string) *image {
	for _, img := range r.images {
		if img.digest == digest {
			return img
		}
	}
	return nil
}

// find resolves an image ID (tag, digest or both) as ECR does: both given must name the same image.
func (r *repository) find(id wireImageID) *image {
	var img *image
	switch {
	case id.ImageDigest != "":
		img = r.byDigest(id.ImageDigest)
	case id.ImageTag != "":
		img = r.byTag(id.ImageTag)
	}
	if img != nil && id.ImageTag != "" && !slices.Contains(img.tags, id.ImageTag) {
		return nil
	}
	return img
}

// CreateRepository creates a private repository with the given tag mutability (Mutable or
// Immutable). It panics if the repository exists: that is a mistake in the test.
func (s *Server) CreateRepository(name, mutability string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.createRepositoryLocked(name, mutability); err != nil {
		panic("awsfake: CreateRepository: " + err.msg)
	}
}

func (s *Server) createRepositoryLocked(name, mutability string) (*repository, *apiError) {
	mutability = cmp.Or(mutability, Mutable)
	if mutability != Mutable && mutability != Immutable {
		return nil, clientError("InvalidParameterException", "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]'")
	}
	if s.repos[name] != nil {
		return nil, clientError("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", name, Account)
	}
	r := &repository{name: name, mutability: mutability}
	s.repos[name] = r
	return r, nil
}

// PushImage pushes a new single-platform image to repository under tag, as `docker push` would,
// and returns its digest. Each push makes a distinct image. It panics when ECR would refuse the
// push (no such repository; the tag exists in an IMMUTABLE repository).
func (s *Server) PushImage(repository, tag string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(repository, tag, s.manifestLocked(repository, tag, "linux/amd64"), ManifestMediaType)
}

// PushIndex pushes a multi-platform image the way `docker buildx build --push` does: for each
// platform (e.g. "linux/amd64") an untagged image manifest and an untagged attestation manifest,
// then an image index referencing them, tagged tag. It returns the index's digest and the
// children's, in the index's order; it panics as PushImage does.
func (s *Server) PushIndex(repository, tag string, platforms ...string) (string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var children []string
	var entries []string
	for _, p := range platforms {
		goos, arch, _ := strings.Cut(p, "/")
		d := s.pushLocked(repository, "", s.manifestLocked(repository, tag, p), ManifestMediaType)
		a := s.pushLocked(repository, "", s.manifestLocked(repository, tag, p+" attestation"), ManifestMediaType)
		children = append(children, d, a)
		entries = append(entries,
			fmt.Sprintf(`{"mediaType":%q,"digest":%q,"platform":{"os":%q,"architecture":%q}}`, ManifestMediaType, d, goos, arch),
			fmt.Sprintf(`{"mediaType":%q,"digest":%q,"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.digest":%q,"vnd.docker.reference.type":"attestation-manifest"}}`, ManifestMediaType, a, d))
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, IndexMediaType, strings.Join(entries, ","))
	return s.pushLocked(repository, tag, index, IndexMediaType), children
}

// manifestLocked makes an image manifest unique to this push.
func (s *Server) manifestLocked(repository, tag, what string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s:%s %s #%d", repository, tag, what, s.next()))
	return fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%x","size":1469},"layers":[]}`, ManifestMediaType, sum)
}

func (s *Server) pushLocked(repository, tag, manifest, mediaType string) string {
	r := s.repos[repository]
	if r == nil {
		panic(fmt.Sprintf("awsfake: push to %s: no such repository (CreateRepository first)", repository))
	}
	img, err := s.putLocked(r, manifest, mediaType, tag, true)
	if err != nil {
		panic(fmt.Sprintf("awsfake: push %s:%s: %s: %s", repository, tag, err.typ, err.msg))
	}
	return img.digest
}

func digestOf(manifest string) string {
	sum := sha256.Sum256([]byte(manifest))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// putLocked is PutImage: it stores manifest (only when create is set: the fake holds no layers, so a
// client can only re-put manifests it holds) and tags it.
func (s *Server) putLocked(r *repository, manifest, mediaType, tag string, create bool) (*image, *apiError) {
	digest := digestOf(manifest)
	img := r.byDigest(digest)
	if img == nil {
		if !create {
			return nil, clientError("ReferencedImagesNotFoundException", "the manifest references images this fake repository does not hold (it stores no layers)")
		}
		img = &image{digest: digest, manifest: manifest, mediaType: mediaType, status: "ACTIVE", pushedAt: epoch(s.now)}
		r.images = append(r.images, img)
	} else if tag == "" || (slices.Contains(img.tags, tag) && r.mutability == Mutable) {
		return nil, clientError("ImageAlreadyExistsException",
			"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", digest, tag, r.name, Account)
	}
	if tag == "" {
		return img, nil
	}
	if holder := r.byTag(tag); holder != nil {
		if r.mutability == Immutable {
			return nil, clientError("ImageTagAlreadyExistsException",
				"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, r.name)
		}
		holder.tags = slices.DeleteFunc(holder.tags, func(t string) bool { return t == tag })
	}
	img.tags = append(img.tags, tag)
	return img, nil
}

// ArchiveImage moves the image holding tag (or with that digest) to ECR's archive storage class,
// from which it cannot be pulled until restored.
func (s *Server) ArchiveImage(repository, tagOrDigest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repository]; r != nil {
		if img := cmp.Or(r.byTag(tagOrDigest), r.byDigest(tagOrDigest)); img != nil {
			img.status = "ARCHIVED"
		}
	}
}

// TagsPut returns the tags PutImage requests added to repository, in order.
func (s *Server) TagsPut(repository string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tagsPut[repository])
}

// pullableLocked reports whether ECS could pull image (a registry/repository:tag or @digest
// reference): false only for a reference to this fake's registry, in a repository it holds, that
// names no ACTIVE image. Other references are outside the fake and assumed pullable.
func (s *Server) pullableLocked(ref string) bool {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || host != registryHost {
		return true
	}
	name, id := rest, wireImageID{}
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		name, id.ImageDigest = rest[:at], rest[at+1:]
	} else if colon := strings.LastIndexByte(rest, ':'); colon >= 0 {
		name, id.ImageTag = rest[:colon], rest[colon+1:]
	} else {
		id.ImageTag = "latest"
	}
	r := s.repos[name]
	if r == nil {
		return true
	}
	img := r.find(id)
	return img != nil && img.status == "ACTIVE"
}

// digestOfLocked is the digest of the image ref names in this fake's registry, or "".
func (s *Server) digestOfLocked(ref string) string {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || host != registryHost {
		return ""
	}
	if at := strings.IndexByte(rest, '@'); at >= 0 {
		return rest[at+1:]
	}
	name, tag, _ := strings.Cut(rest, ":")
	if r := s.repos[name]; r != nil {
		if img := r.byTag(cmp.Or(tag, "latest")); img != nil {
			return img.digest
		}
	}
	return ""
}

// registryHost is the host of the fake's private registry.
const registryHost = Account + ".dkr.ecr." + Region + ".amazonaws.com"

// repositoryLocked returns a repository, or ECR's error.
func (s *Server) repositoryLocked(registryID, name string) (*repository, *apiError) {
	registry := cmp.Or(registryID, Account)
	r := s.repos[name]
	if r == nil || registry != Account {
		return nil, clientError("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", name, registry)
	}
	return r, nil
}

type wireRepository struct {
	RepositoryArn      string `json:"repositoryArn"`
	RegistryID         string `json:"registryId"`
	RepositoryName     string `json:"repositoryName"`
	RepositoryURI      string `json:"repositoryUri"`
	ImageTagMutability string `json:"imageTagMutability"`
}

func wireRepositoryOf(r *repository) wireRepository {
	return wireRepository{
		RepositoryArn: fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", Region, Account, r.name),
		RegistryID:    Account, RepositoryName: r.name, RepositoryURI: registryHost + "/" + r.name,
		ImageTagMutability: r.mutability,
	}
}

func (s *Server) createRepository(in struct {
	RepositoryName     string `json:"repositoryName"`
	ImageTagMutability string `json:"imageTagMutability"`
}) (any, *apiError) {
	r, err := s.createRepositoryLocked(in.RepositoryName, in.ImageTagMutability)
	if err != nil {
		return nil, err
	}
	return map[string]any{"repository": wireRepositoryOf(r)}, nil
}

func (s *Server) describeRepositories(in struct {
	RegistryID      string   `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
}) (any, *apiError) {
	names := in.RepositoryNames
	if len(names) == 0 {
		for name := range s.repos {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	out := []wireRepository{}
	for _, name := range names {
		r, err := s.repositoryLocked(in.RegistryID, name)
		if err != nil {
			return nil, err
		}
		out = append(out, wireRepositoryOf(r))
	}
	return map[string]any{"repositories": out}, nil
}

type wireImageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

type wireImageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          epoch    `json:"imagePushedAt"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ImageStatus            string   `json:"imageStatus"`
}

// statusMatches applies DescribeImages' image status filter: without one, only ACTIVE images.
func statusMatches(filter, status string) bool {
	switch filter {
	case "ANY":
		return true
	case "":
		return status == "ACTIVE"
	}
	return filter == status
}

// tagStatusMatches applies DescribeImages' tag status filter (TAGGED, UNTAGGED or ANY).
func tagStatusMatches(filter string, img *image) bool {
	switch filter {
	case "TAGGED":
		return len(img.tags) > 0
	case "UNTAGGED":
		return len(img.tags) == 0
	}
	return true
}

func (s *Server) describeImages(in struct {
	RegistryID     string        `json:"registryId"`
	RepositoryName string        `json:"repositoryName"`
	ImageIDs       []wireImageID `json:"imageIds"`
	Filter         struct {
		ImageStatus string `json:"imageStatus"`
		TagStatus   string `json:"tagStatus"`
	} `json:"filter"`
}) (any, *apiError) {
	r, err := s.repositoryLocked(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	detail := func(img *image) wireImageDetail {
		return wireImageDetail{
			RegistryID: Account, RepositoryName: r.name, ImageDigest: img.digest, ImageTags: slices.Clone(img.tags),
			ImageSizeInBytes: 52428800, ImagePushedAt: img.pushedAt, ImageManifestMediaType: img.mediaType, ImageStatus: img.status,
		}
	}
	details := []wireImageDetail{}
	if len(in.ImageIDs) == 0 {
		for _, img := range r.images {
			if statusMatches(in.Filter.ImageStatus, img.status) && tagStatusMatches(in.Filter.TagStatus, img) {
				details = append(details, detail(img))
			}
		}
	}
	for _, id := range in.ImageIDs {
		img := r.find(id)
		if img == nil || !statusMatches(in.Filter.ImageStatus, img.status) {
			return nil, clientError("ImageNotFoundException",
				"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
				nullIfEmpty(id.ImageDigest), nullIfEmpty(id.ImageTag), r.name, Account)
		}
		details = append(details, detail(img))
	}
	return map[string]any{"imageDetails": details}, nil
}

type wireImage struct {
	RegistryID             string      `json:"registryId"`
	RepositoryName         string      `json:"repositoryName"`
	ImageID                wireImageID `json:"imageId"`
	ImageManifest          string      `json:"imageManifest"`
	ImageManifestMediaType string      `json:"imageManifestMediaType"`
}

type wireImageFailure struct {
	ImageID       wireImageID `json:"imageId"`
	FailureCode   string      `json:"failureCode"`
	FailureReason string      `json:"failureReason"`
}

// batchGetImage returns the manifests of ACTIVE images, and a failure for each image ID it cannot
// serve: archived images cannot be pulled.
func (s *Server) batchGetImage(in struct {
	RegistryID     string        `json:"registryId"`
	RepositoryName string        `json:"repositoryName"`
	ImageIDs       []wireImageID `json:"imageIds"`
}) (any, *apiError) {
	r, err := s.repositoryLocked(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	images, failures := []wireImage{}, []wireImageFailure{}
	for _, id := range in.ImageIDs {
		img := r.find(id)
		if img == nil || img.status != "ACTIVE" {
			failures = append(failures, wireImageFailure{ImageID: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"})
			continue
		}
		images = append(images, wireImage{
			RegistryID: Account, RepositoryName: r.name, ImageID: wireImageID{ImageDigest: img.digest, ImageTag: id.ImageTag},
			ImageManifest: img.manifest, ImageManifestMediaType: img.mediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

// putImage tags the image whose manifest it is given, honouring the repository's tag mutability.
func (s *Server) putImage(in struct {
	RegistryID             string `json:"registryId"`
	RepositoryName         string `json:"repositoryName"`
	ImageManifest          string `json:"imageManifest"`
	ImageManifestMediaType string `json:"imageManifestMediaType"`
	ImageTag               string `json:"imageTag"`
	ImageDigest            string `json:"imageDigest"`
}) (any, *apiError) {
	r, err := s.repositoryLocked(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.ImageDigest != "" && in.ImageDigest != digestOf(in.ImageManifest) {
		return nil, clientError("ImageDigestDoesNotMatchException", "Provided image digest '%s' does not match the digest of the manifest '%s'", in.ImageDigest, digestOf(in.ImageManifest))
	}
	img, err := s.putLocked(r, in.ImageManifest, in.ImageManifestMediaType, in.ImageTag, false)
	if err != nil {
		return nil, err
	}
	s.tagsPut[r.name] = append(s.tagsPut[r.name], in.ImageTag)
	return map[string]any{"image": wireImage{
		RegistryID: Account, RepositoryName: r.name, ImageID: wireImageID{ImageDigest: img.digest, ImageTag: in.ImageTag},
		ImageManifest: img.manifest, ImageManifestMediaType: img.mediaType,
	}}, nil
}

// nullIfEmpty renders absent fields the way ECR's messages do.
func nullIfEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "null"
	}
	return s
}

// batchDeleteImage removes tags and images as BatchDeleteImage does (see the model's sources): an
// ID with a tag removes that tag, and the image with its last tag; an ID with only a digest
// removes the image and all its tags. An image a stored image index references cannot be deleted
// by digest while the index is there.
func (s *Server) batchDeleteImage(in struct {
	RegistryID     string        `json:"registryId"`
	RepositoryName string        `json:"repositoryName"`
	ImageIDs       []wireImageID `json:"imageIds"`
}) (any, *apiError) {
	r, err := s.repositoryLocked(in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	deleted, failures := []wireImageID{}, []wireImageFailure{}
	fail := func(id wireImageID, code, reason string) {
		failures = append(failures, wireImageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
	}
	for _, id := range in.ImageIDs {
		if id.ImageDigest == "" && id.ImageTag == "" {
			fail(id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null")
			continue
		}
		img := r.find(id)
		switch {
		case img == nil && id.ImageDigest != "" && id.ImageTag != "" && r.byDigest(id.ImageDigest) != nil:
			fail(id, "ImageTagDoesNotMatchDigest", "Invalid request parameters: image tag does not match digest")
			continue
		case img == nil:
			fail(id, "ImageNotFound", "Requested image not found")
			continue
		}
		if id.ImageTag != "" && len(img.tags) > 1 {
			img.tags = slices.DeleteFunc(img.tags, func(t string) bool { return t == id.ImageTag })
			deleted = append(deleted, wireImageID{ImageDigest: img.digest, ImageTag: id.ImageTag})
			continue
		}
		if s.referencedLocked(r, img) {
			fail(id, "ImageReferencedByManifestList", "Requested image referenced by manifest list")
			continue
		}
		r.images = slices.DeleteFunc(r.images, func(i *image) bool { return i == img })
		if id.ImageTag != "" {
			deleted = append(deleted, wireImageID{ImageDigest: img.digest, ImageTag: id.ImageTag})
			continue
		}
		for _, t := range img.tags {
			deleted = append(deleted, wireImageID{ImageDigest: img.digest, ImageTag: t})
		}
		if len(img.tags) == 0 {
			deleted = append(deleted, wireImageID{ImageDigest: img.digest})
		}
	}
	return map[string]any{"imageIds": deleted, "failures": failures}, nil
}

// referencedLocked reports whether an image index stored in r references img.
func (s *Server) referencedLocked(r *repository, img *image) bool {
	for _, other := range r.images {
		if other != img && other.mediaType == IndexMediaType && strings.Contains(other.manifest, `"digest":"`+img.digest+`"`) {
			return true
		}
	}
	return false
}
