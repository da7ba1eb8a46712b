"""Request bodies, read as the real server's zod schemas read them: every refusal
is a 400 ``invalid_inputs`` naming the field, before anything is looked up; and
``errors``, the Autumn error answers every layer above raises."""
