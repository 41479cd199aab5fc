package probe

// ShortImage is an image name as a person reads it: without the default
// registry, "library/", ":latest" or a digest; an image id as its 12-digit
// short form ("nginx", "shop/web:1.2", "0123456789ab").
func ShortImage(img string) string { return shortImage(img) }
