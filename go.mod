module github.com/latch-auth/latch

go 1.26
