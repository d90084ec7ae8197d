import { FIXED_ANSWERS } from "@tutor/protocol";

/** What the student sees (and hears) when a question is off topic. Fixed (in the protocol package), so clients recognise it in history. */
export const TOPIC_REJECTION_TEXT = FIXED_ANSWERS.topicRejection;
