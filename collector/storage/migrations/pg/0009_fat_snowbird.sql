CREATE TABLE "erasure_tombstones" (
	"site_id" text NOT NULL,
	"subject_hash" text NOT NULL,
	"from_at" bigint NOT NULL,
	"to_at" bigint NOT NULL,
	"erased_at" bigint NOT NULL,
	CONSTRAINT "erasure_tombstones_site_id_subject_hash_from_at_pk" PRIMARY KEY("site_id","subject_hash","from_at")
);
