-- Plans outlive their organizer's account, on PostgreSQL. Conventions as in 0001. Deleting a user
-- used to cascade to the plans they organised, so the people invited saw them vanish (404, gone
-- from their lists) and confirmed plans lost their history. Now a plan keeps its row with a
-- null organizer_id, as a booking keeps its history with a null plan_id (0001): the deletion
-- first cancels the plans still being organised (`users::delete_user`), and the others stay as
-- they were. A plan without an organizer is never being organised (plans_organizer_id_check):
-- nobody could confirm it.

ALTER TABLE plans ALTER COLUMN organizer_id DROP NOT NULL;
ALTER TABLE plans DROP CONSTRAINT plans_organizer_id_fkey;
ALTER TABLE plans ADD CONSTRAINT plans_organizer_id_fkey
    FOREIGN KEY (organizer_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE plans ADD CONSTRAINT plans_organizer_id_check CHECK (organizer_id IS NOT NULL OR status <> 'draft');
