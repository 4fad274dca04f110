package password_test

import (
	"context"
	"fmt"
	"log"

	"github.com/latch-auth/latch/internal/password"
)

func Example() {
	ctx := context.Background()
	// One Hasher per process: OWASP parameters, one computation per CPU.
	hasher, err := password.New(password.Params{}, 0)
	if err != nil {
		log.Fatal(err)
	}

	pw := "correct horse battery staple"
	if err := password.CheckPolicy(pw); err != nil {
		log.Fatal(err)
	}
	phc, err := hasher.Hash(ctx, pw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(phc[:31])

	ok, needsRehash, err := hasher.Verify(ctx, pw, phc)
	fmt.Println(ok, needsRehash, err)
	ok, needsRehash, err = hasher.Verify(ctx, "Tr0ub4dor&3", phc)
	fmt.Println(ok, needsRehash, err)
	// Output:
	// $argon2id$v=19$m=19456,t=2,p=1$
	// true false <nil>
	// false false <nil>
}

// A login upgrades a hash made with older parameters.
func Example_rehash() {
	ctx := context.Background()
	old, err := password.New(password.Params{Memory: 12 * 1024, Time: 3}, 0)
	if err != nil {
		log.Fatal(err)
	}
	stored, err := old.Hash(ctx, "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}

	current, err := password.New(password.Params{}, 0)
	if err != nil {
		log.Fatal(err)
	}
	ok, needsRehash, err := current.Verify(ctx, "correct horse battery staple", stored)
	if err != nil {
		log.Fatal(err)
	}
	if ok && needsRehash {
		stored, err = current.Hash(ctx, "correct horse battery staple")
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(ok, needsRehash, stored[:31])
	// Output: true true $argon2id$v=19$m=19456,t=2,p=1$
}

func ExampleCheckPolicy() {
	for _, pw := range []string{"correct horse battery staple", "hunter2", "         ", "ILoveYou", "alice.liddell"} {
		fmt.Println(password.CheckPolicy(pw, "alice.liddell@example.com"))
	}
	// Output:
	// <nil>
	// password: password does not meet policy: shorter than 8 characters
	// password: password does not meet policy: empty or only white space
	// password: password does not meet policy: this password is too common
	// password: password does not meet policy: the same as the account's e-mail address or name
}
