resource "aws_s3_bucket" "b" {
  # c
  acl = "private" // d
  versioning { enabled = true }
  policy = <<EOF
# not
EOF
}
variable "x" { default = 1 }
