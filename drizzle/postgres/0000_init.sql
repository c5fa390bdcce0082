CREATE TABLE "tiercache_entries" (
	"namespace" text NOT NULL,
	"key" text NOT NULL,
	"value" "bytea" NOT NULL,
	"tags" text[] DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL,
	"fresh_until" bigint NOT NULL,
	"stale_until" bigint NOT NULL,
	CONSTRAINT "tiercache_entries_pkey" PRIMARY KEY("namespace","key")
);
--> statement-breakpoint
CREATE INDEX "tiercache_entries_tags_idx" ON "tiercache_entries" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "tiercache_entries_stale_until_idx" ON "tiercache_entries" USING btree ("stale_until");