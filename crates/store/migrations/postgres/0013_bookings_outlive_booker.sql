-- Bookings outlive their booker's account, on PostgreSQL. Conventions as in 0001. Deleting a
-- user used to cascade to every booking they made, past ones included, with its invitations:
-- the people in the party lost it from GET /bookings/{plan_id} and their lists, and the venue's
-- history and the admin's counts lost it too. Now a booking keeps its row with a null user_id,
-- as a plan keeps its row with a null organizer_id (0012): the deletion first cancels the
-- user's upcoming bookings and gives back their holds under way (`users::delete_user`), so the
-- ones left are history (cancelled, completed, no-show, or confirmed and over). Its invitations
-- keep their rows with a null inviter_id. A booking without a booker never holds a pending
-- hold (bookings_user_id_check): nobody could confirm it.

ALTER TABLE bookings ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE bookings DROP CONSTRAINT bookings_user_id_fkey;
ALTER TABLE bookings ADD CONSTRAINT bookings_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE bookings ADD CONSTRAINT bookings_user_id_check CHECK (user_id IS NOT NULL OR status <> 'pending');

ALTER TABLE booking_invitations ALTER COLUMN inviter_id DROP NOT NULL;
ALTER TABLE booking_invitations DROP CONSTRAINT booking_invitations_inviter_id_fkey;
ALTER TABLE booking_invitations ADD CONSTRAINT booking_invitations_inviter_id_fkey
    FOREIGN KEY (inviter_id) REFERENCES users (id) ON DELETE SET NULL;
