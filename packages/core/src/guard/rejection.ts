/** What the student sees (and hears) when a question is off topic. Fixed, so it can be recognised in history. */
export const TOPIC_REJECTION_TEXT =
  "I'm your computer science tutor, so I can only help with computing topics: programming, algorithms and data structures, " +
  "software tools, operating systems, networks, databases, security, AI and the maths behind them. " +
  "If your question has a computing side, try asking about that part, for example " +
  '"How would I store my recipes in a database?" instead of asking for a recipe. What would you like to learn?';
