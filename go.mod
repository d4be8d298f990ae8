module github.com/hivenet/hivenet

go 1.25.0
