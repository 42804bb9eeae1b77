import { ConfirmDialog } from "@/components/confirm-dialog";

interface Props {
  mine: boolean;
  senderName: string;
  onDelete: () => Promise<void>;
  onClose: () => void;
}

/** Confirm a delete: it erases the message (and its edits and reactions) for good. */
export function DeleteMessageDialog({ mine, senderName, onDelete, onClose }: Props) {
  return (
    <ConfirmDialog title="Delete message?" confirm="Delete" onConfirm={onDelete} onClose={onClose}>
      {mine ? "Your message" : `${senderName}'s message`} is erased from the server for good, with its edits and reactions. Everyone sees “message deleted”.
    </ConfirmDialog>
  );
}
