"""What a release ships: the Bento (one generic BentoML service), its signatures, its container
image, and the Pulumi provider plugins a deploy job needs."""
