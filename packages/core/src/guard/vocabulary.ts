// Word lists of the tier-1 topic guard. Terms are written as a student would
// type them; the keyword model tokenizes them with the same tokenizer as the
// questions, so "C++", "node.js" and "two's complement" match as written.
// Plurals are matched by the model ("linked lists" -> "linked list"), and a
// hyphenated term also matches spaced and joined ("front-end", "front end",
// "frontend"), so lists hold singular, one spelling each where possible.

/** Computing terms: one of them in a question is enough to allow it. */
export const CS_TERMS: readonly string[] = [
  // the field and the craft
  "computer science", "computing", "computer", "programming", "programmer", "coding", "coder", "software",
  "software engineering", "software engineer", "software development", "hardware", "source code", "pseudocode",
  "open source", "hello world", "code review", "write a program", "write code", "write a function",
  "write a script", "programming language", "compiler", "interpreter", "compile code", "compiling", "transpile",
  "runtime", "runtime error", "syntax error", "stack trace", "traceback", "debugger", "debugging", "debug",
  "linter", "refactor", "refactoring", "unit test", "integration test", "test-driven development", "tdd",
  "algorithmic", "data structure", "flowchart", "computational",
  // data structures
  "array", "linked list", "doubly linked list", "singly linked list", "hash table", "hash map", "hashmap",
  "hashset", "hash set", "hash function", "binary tree", "binary search tree", "bst", "avl tree",
  "red-black tree", "b-tree", "b+ tree", "trie", "priority queue", "min-heap", "max-heap", "binary heap",
  "deque", "adjacency list", "adjacency matrix", "tuple", "struct", "enum", "bitmap", "bitset", "bloom filter",
  "skip list", "segment tree", "fenwick tree", "disjoint set", "union-find", "circular buffer", "ring buffer",
  "stack overflow", "call stack", "linked-list",
  // algorithms and complexity
  "binary search", "linear search", "bubble sort", "quicksort", "quick sort", "merge sort", "mergesort",
  "heapsort", "heap sort", "insertion sort", "selection sort", "radix sort", "counting sort", "bucket sort",
  "timsort", "sorting algorithm", "search algorithm", "dijkstra", "bellman-ford", "floyd-warshall",
  "bfs", "dfs", "breadth-first search", "depth-first search", "topological sort",
  "dynamic programming", "memoization", "memoize", "recursion", "recursive", "tail recursion",
  "base case", "recursive case", "recursive call", "loop invariant", "invariant",
  "greedy algorithm", "backtracking", "divide and conquer", "big o", "big-o notation", "big theta",
  "big omega", "time complexity", "space complexity", "asymptotic", "amortized", "np-complete", "np-hard",
  "p vs np", "turing machine", "turing complete", "finite automaton", "finite state machine", "automata",
  "regular expression", "regex", "minimum spanning tree", "kruskal", "knapsack problem",
  "travelling salesman", "traveling salesman", "two pointers", "sliding window", "kadane", "kmp",
  "rabin-karp", "huffman coding", "levenshtein", "edit distance", "hashing", "shortest path", "graph traversal",
  "tree traversal", "inorder", "preorder", "postorder", "sort an array", "sort a list", "in-order traversal", "halting problem",
  "computability", "lambda calculus",
  // languages and formats
  "javascript", "typescript", "c++", "c#", "f#", ".net", "golang", "kotlin", "scala", "haskell", "clojure",
  "erlang", "elixir", "ocaml", "lisp", "prolog", "fortran", "cobol", "perl", "php", "lua", "matlab",
  "webassembly", "wasm", "bash", "zsh", "powershell", "sql", "nosql", "html", "html5", "css", "css3", "sass",
  "scss", "json", "yaml", "xml", "toml", "csv file", "markdown", "solidity", "verilog", "vhdl", "objective-c",
  "cuda", "opencl", "jsx", "tsx", "graphql", "visual basic", "vba", "ruby on rails", "c language",
  "c programming", "c code", "go language", "go programming", "goroutine", "rust programming",
  "rust language", "python programming", "python code", "python script", "java programming", "java code",
  "assembly language", "assembler", "x86", "x86-64", "arm64", "risc-v", "mips", "bytecode", "jvm",
  "python3", "ecmascript", "es6", "stdio.h", "iostream", "printf", "println", "console.log", "stdout", "stdin",
  "stderr", "malloc", "nullptr", "null pointer", "std::vector",
  // frameworks, libraries, runtimes
  "reactjs", "react.js", "react native", "react hook", "usestate", "useeffect", "vue.js", "vuejs", "angular",
  "svelte", "next.js", "nextjs", "nuxt", "node.js", "nodejs", "npm", "pnpm", "deno", "express.js", "expressjs",
  "django", "fastapi", "fastify", "laravel", "symfony", "spring boot", "spring framework", "jquery",
  "tailwind", "tailwindcss", "redux", "webpack", "vite", "numpy", "scipy", "matplotlib", "tensorflow",
  "pytorch", "keras", "scikit-learn", "sklearn", "opencv", "hugging face", "huggingface", "langchain",
  "junit", "pytest", "jest", "unreal engine", "godot", "swiftui", "jetpack compose", "asp.net", "blazor",
  "xamarin", "qt framework", "gtk", "sqlalchemy", "hibernate orm", "entity framework", "kysely", "prisma",
  "sequelize", "mongoose", "socket.io", "three.js", "d3.js", "pandas dataframe",
  // operating systems and architecture
  "operating system", "linux", "unix", "ubuntu", "debian", "fedora", "centos", "arch linux", "macos", "ios",
  "android", "windows 10", "windows 11", "scheduler", "mutex", "semaphore", "deadlock", "race condition",
  "concurrency", "concurrent", "parallelism", "multithreading", "multithreaded", "multiprocessing",
  "context switch", "virtual memory", "paging", "page fault", "page table", "segmentation fault", "segfault",
  "syscall", "system call", "file system", "filesystem", "inode", "daemon", "cron", "cronjob", "crontab",
  "shell script", "command line", "command-line", "cli", "bios", "uefi", "bootloader", "firmware",
  "device driver", "cpu", "gpu", "tpu", "ram", "ssd", "hdd", "cache", "caching", "cache miss", "l1 cache",
  "instruction set", "alu", "computer architecture", "von neumann", "motherboard", "processor",
  "microprocessor", "microcontroller", "arduino", "raspberry pi", "fpga", "logic gate", "boolean", "byte",
  "kilobyte", "megabyte", "gigabyte", "terabyte", "binary", "hexadecimal", "octal", "two's complement",
  "twos complement", "floating point", "floating-point", "endianness", "bitwise", "bit manipulation",
  "sudo", "chmod", "grep", "systemd", "kernel panic", "linux kernel", "os kernel", "kernel module",
  "heap memory", "stack memory", "stack frame", "memory leak", "memory management", "memory allocation",
  "garbage collection", "garbage collector", "pointer", "dangling pointer", "smart pointer", "dereference",
  "virtual machine", "hypervisor", "emulator", "usb", "hdmi",
  // networking and the web
  "tcp", "udp", "ip address", "ipv4", "ipv6", "http", "https", "dns", "dhcp", "tls", "ssl", "ssh", "ftp", "sftp",
  "smtp", "imap", "websocket", "rest api", "restful", "api", "endpoint", "url", "uri", "osi model", "subnet",
  "subnet mask", "cidr", "vpn", "firewall", "load balancer", "cdn", "mac address", "ethernet", "wifi", "wi-fi",
  "localhost", "127.0.0.1", "curl", "wget", "grpc", "protobuf", "cors", "oauth", "jwt", "web server", "nginx",
  "http request", "http response", "status code", "client-server", "browser", "web browser", "website",
  "web page", "webpage", "web app", "web application", "web development", "web dev", "frontend", "backend",
  "full-stack", "dom", "ajax", "internet", "tcp/ip", "packet switching", "routing table", "network protocol",
  "computer network", "http cookie", "browser cookie", "session cookie", "web socket",
  // databases
  "database", "dbms", "rdbms", "mysql", "postgresql", "postgres", "sqlite", "mongodb", "redis", "cassandra",
  "dynamodb", "elasticsearch", "mariadb", "primary key", "foreign key", "inner join", "left join",
  "acid transaction", "acid properties",
  "outer join", "sql join", "database index", "orm", "er diagram", "entity relationship",
  "stored procedure", "sharding", "cap theorem", "database normalization", "normal form", "sql query",
  "data warehouse", "etl",
  // security
  "cybersecurity", "cyber security", "encryption", "encrypt", "decrypt", "decryption", "cryptography",
  "sha-256", "md5", "rsa", "aes", "public key", "private key", "xss", "cross-site scripting", "csrf",
  "sql injection", "buffer overflow", "malware", "ransomware", "spyware", "penetration testing", "pentest",
  "password hashing", "bcrypt", "argon2", "zero-day", "ddos", "dos attack", "botnet", "antivirus", "owasp",
  "cve", "two-factor authentication", "2fa", "authentication", "capture the flag", "ctf", "phishing",
  "computer virus", "trojan horse malware", "digital signature", "hash collision",
  // AI and machine learning
  "machine learning", "deep learning", "neural network", "neural net", "artificial intelligence", "ai",
  "llm", "large language model", "transformer model", "attention mechanism", "gradient descent",
  "backpropagation", "overfitting", "underfitting", "linear regression", "logistic regression",
  "clustering", "k-means", "knn", "k-nearest neighbors", "decision tree", "random forest", "svm",
  "support vector machine", "reinforcement learning", "supervised learning", "unsupervised learning",
  "training data", "dataset", "embedding", "tokenizer", "tokenization", "fine-tuning", "prompt engineering",
  "chatgpt", "gpt", "bert", "rnn", "lstm", "gan", "diffusion model", "loss function", "activation function",
  "relu", "sigmoid", "softmax", "hyperparameter", "feature engineering", "computer vision", "nlp",
  "natural language processing", "perceptron", "convolutional", "f1 score", "confusion matrix",
  "cross-validation", "ml model", "ai model", "language model",
  // tools and practice
  "git", "github", "gitlab", "bitbucket", "version control", "pull request", "merge conflict", "rebase",
  "git commit", "git branch", "git merge", "docker", "dockerfile", "docker compose", "kubernetes", "k8s",
  "ci/cd", "continuous integration", "continuous deployment", "devops", "vscode", "vs code", "visual studio",
  "intellij", "pycharm", "vim", "emacs", "neovim", "ide", "eslint", "prettier", "makefile", "cmake", "gradle",
  "maven", "pip", "conda", "virtualenv", "venv", "package manager", "stackoverflow", "aws", "azure", "gcp",
  "google cloud", "heroku", "vercel", "netlify", "serverless", "microservice", "api gateway", "terraform",
  "ansible", "jenkins", "github actions", "cloud computing", "jupyter", "jupyter notebook", "repl",
  "sdk", "json file", "yaml file", "env variable", "environment variable", ".env", ".gitignore",
  // programming concepts
  "variable", "global variable", "local variable", "constant variable", "object-oriented", "oop",
  "polymorphism", "encapsulation", "constructor", "destructor", "data type", "type system", "static typing",
  "dynamic typing", "type inference", "generics", "callback", "callback function", "async", "await",
  "async/await", "asynchronous", "event loop", "coroutine", "higher-order function", "functional programming",
  "pure function", "immutable", "immutability", "mutable", "exception handling", "try/catch", "try-catch",
  "for loop", "while loop", "do-while", "if statement", "if-else", "switch statement", "iterator", "iterable",
  "design pattern", "singleton", "factory pattern", "observer pattern", "mvc", "dependency injection",
  "solid principles", "namespace", "boolean expression", "short-circuit", "operator precedence",
  "function call", "return value", "parameter passing", "pass by reference", "pass by value",
  "string concatenation", "substring", "array index", "off-by-one", "integer overflow", "type casting",
  "typecast", "null reference", "undefined behavior", "unicode", "utf-8", "ascii", "serialization",
  "deserialization", "distributed system", "big data", "hadoop", "apache spark", "apache kafka", "rabbitmq",
  "message queue", "pub/sub", "blockchain", "smart contract", "game development", "game engine", "shader",
  "opengl", "vulkan", "directx", "ray tracing", "computer graphics", "rasterization", "lexer", "parser",
  "abstract syntax tree", "ast", "jit", "bytecode", "linker", "static library", "dynamic library", "dll",
  "class inheritance", "multiple inheritance", "interface inheritance", "abstract class", "method overloading",
  "method overriding", "operator overloading", "lambda function", "lambda expression", "anonymous function",
  "closure in javascript", "javascript closure", "js", "ts", "py", "cpp", "leetcode", "hackerrank",
  "codewars", "advent of code", "java bean", "javabean", "enterprise javabeans", "n-queens", "eight queens",
  "number of islands", "web crawler", "web scraping", "front-end", "back-end", "a-star", "a star search",
  "in go", "go code", "go lang", "go routine", "div", "flexbox", "css grid", "html tag", "csv", "infinite loop",
  "recommendation system", "recommender system", "recommendation algorithm", "shuffle algorithm", "fisher-yates",
  "self-driving car", "autonomous vehicle", "booking system", "search algorithm",
  // operators: code-looking input
  "==", "===", "!=", "!==", "&&", "||", "->", "=>", "::", "<<", ">>", "+=", "-=", "*=", "/=", "<=", ">=", "++",
  "%=", ":=",
  // maths for computing
  "discrete math", "discrete maths", "discrete mathematics", "linear algebra", "boolean algebra",
  "boolean logic", "propositional logic", "predicate logic", "first-order logic", "set theory",
  "graph theory", "number theory", "combinatorics", "modular arithmetic", "modulo", "binary number",
  "base 2", "base 16", "truth table", "proof by induction", "mathematical induction", "logarithmic time",
  "log n", "n log n", "recurrence relation", "master theorem", "de morgan", "karnaugh map",
];

/**
 * Words that are computing only in context ("python", "java", "tree", "memory",
 * "shell", "cookie", "spring"): alone they leave the question uncertain; two
 * of them, or one with a weak computing word, allow it; a non-computing word
 * next to one of them rejects it ("java coffee beans").
 */
export const AMBIGUOUS_TERMS: readonly string[] = [
  "python", "java", "ruby", "rust", "swift", "scheme", "pascal", "julia", "dart", "r", "c", "assembly", "acid",
  "compile", "compilation",
  "tree", "memory", "shell", "cookie", "spring", "stack", "queue", "graph", "heap", "table", "class", "object",
  "string", "key", "server", "window", "windows", "thread", "process", "port", "boot", "crash", "bug", "virus",
  "worm", "trojan", "mouse", "keyboard", "monitor", "screen", "cloud", "model", "token", "cell", "branch",
  "commit", "merge", "pipe", "root", "hash", "map", "vector", "matrix", "matrices", "node", "react", "flask",
  "pandas", "spark", "kafka", "oracle", "apache", "lambda", "promise", "closure", "inheritance", "generator",
  "library", "package", "kernel", "packet", "socket", "router", "switch", "terminal", "transformer", "notebook",
  "excel", "macro", "register", "float", "interrupt", "index", "transaction", "dictionary", "salt", "bit",
  "console", "unity", "electron", "flutter", "selenium", "mocha", "babel", "bootstrap", "hibernate", "rails",
  "yarn", "bun", "cnn", "pipeline", "search engine", "stream", "buffer", "cursor", "driver", "patch",
  "instance", "leaf", "vertex", "vertices", "loop", "crawler", "scraper", "spider",
];

/**
 * General technology words: two of them, or one with an ambiguous term, allow
 * a question; alone they leave it uncertain ("dress code", "TV program").
 */
export const WEAK_CS_TERMS: readonly string[] = [
  "code", "program", "developer", "function", "method", "framework", "module", "data", "network",
  "networking", "app", "application", "install", "installation", "download", "update", "upgrade", "version",
  "syntax", "error", "query", "schema", "script", "tech", "technology", "digital", "file", "folder",
  "directory", "setup", "configure", "configuration", "command", "output", "input", "execute", "execution",
  "sorting", "iteration", "integer", "exception", "interface", "abstraction", "dependency", "template",
  "scope", "encoding", "overflow", "regression", "classification", "epoch", "latency", "bandwidth", "proxy",
  "gateway", "certificate", "vulnerability", "exploit", "hacker", "hacking", "authorization", "container",
  "laptop", "printer", "pixel", "rendering", "spreadsheet", "agile", "scrum", "logarithm", "permutation",
  "probability", "statistics", "calculus", "algebra", "induction", "proof", "cs", "reference", "null",
  "undefined", "deploy", "deployment", "backup", "password", "login", "username", "fetch", "session",
  "domain", "hosting", "online", "email", "storage", "performance", "optimize", "optimization", "compute",
  "calculator", "robot", "robotics", "automation", "automate", "simulation",
  "operator", "expression", "statement", "parameter", "argument", "return", "extends",
  "implement", "implementation", "complexity", "efficient", "efficiency", "logic",
  "system design", "architecture", "platform", "device", "cybercrime", "hack", "plugin", "extension",
  "store", "system", "simulate", "print", "recommend", "recommendation", "shuffle", "netflix", "spotify",
  "youtube", "google", "amazon", "facebook", "instagram", "tiktok", "twitter", "whatsapp", "uber", "self-driving",
];

/** Clearly not computing: with no computing signal at all, the question is rejected. */
export const NON_CS_TERMS: readonly string[] = [
  // food and drink
  "recipe", "cook", "cooking", "bake", "baking", "oven", "ingredient", "dinner", "lunch", "breakfast",
  "dessert", "cake", "pasta", "pizza", "soup", "restaurant", "chef", "cuisine", "calorie", "diet", "vegan",
  "vegetarian", "wine", "beer", "cocktail", "coffee", "espresso", "chocolate", "dough", "biscuit",
  "pancake", "sandwich", "burger", "steak", "salad", "spaghetti", "lasagna", "bbq", "barbecue",
  // sport
  "football", "soccer", "basketball", "baseball", "cricket", "tennis", "golf", "hockey", "nfl", "nba", "nhl",
  "mlb", "fifa", "world cup", "super bowl", "premier league", "champions league", "touchdown",
  "goalkeeper", "score", "olympics", "athlete", "league", "tournament", "championship", "match result",
  "who won", "playoff", "quarterback", "striker", "marathon", "workout", "gym",
  // celebrities and entertainment
  "celebrity", "gossip", "kardashian", "taylor swift", "beyonce", "hollywood", "actor", "actress", "movie",
  "film", "tv show", "netflix series", "singer", "song", "lyrics", "album", "concert", "rapper", "red carpet",
  "oscars", "grammy", "royal family", "paparazzi", "reality show",
  // dating and relationships
  "dating", "tinder", "girlfriend", "boyfriend", "crush", "romantic", "romance", "flirt", "breakup",
  "wedding", "marry", "married", "divorce", "relationship advice", "first date", "valentine",
  // horoscopes and the occult
  "horoscope", "zodiac", "astrology", "tarot", "virgo", "libra", "scorpio", "sagittarius", "capricorn",
  "aquarius", "pisces", "aries", "taurus", "star sign", "fortune telling", "psychic",
  // medicine
  "symptom", "diagnosis", "doctor", "medication", "medicine", "prescription", "dosage", "pill", "disease",
  "cancer", "diabetes", "headache", "fever", "rash", "pregnant", "pregnancy", "surgery", "therapist",
  "flu", "covid", "infection", "vaccine", "injury", "sore throat", "blood pressure", "antibiotic",
  // law
  "lawyer", "attorney", "lawsuit", "sue", "court", "legal advice", "custody", "visa", "immigration",
  "tax return", "landlord", "tenant", "will and testament",
  // everyday life and nature
  "weather", "rain", "snow", "vacation", "holiday", "hotel", "tourist", "beach", "stock price",
  "mortgage", "loan", "fashion", "outfit", "makeup", "hairstyle", "skincare", "perfume", "gardening",
  "garden", "plant", "flower", "snake", "reptile", "zoo", "venom", "food", "food processor",
  "indonesia", "coffee bean", "gemstone", "jewelry", "diamond", "corrosion", "season", "mattress",
  "seashell", "turtle", "oyster", "childhood", "alzheimer", "dementia", "rodent", "cheese", "insect",
  "pesticide", "popcorn", "corn", "sky", "furniture", "chair", "dining", "prison", "ship",
  "harbor", "sewing", "needle", "fabric", "shoe", "leather", "piano", "guitar", "bear", "bamboo", "whiskey",
  "helicopter", "oak", "pine", "forest fire", "fishing", "hunting", "poem", "poetry", "dance", "dancing",
  "religion", "bible", "prayer", "church", "capital of", "president", "election", "politics",
  "political", "war", "emperor", "painting", "painter", "sculpture", "knitting",
  "laundry", "dishwasher", "vacuum cleaner", "baby", "toddler", "wedding dress", "monty python",
  "joke about", "pickup line", "lottery", "casino", "gambling", "bet on",
];

/** Greetings, thanks and small talk: allowed when the message is nothing more. */
export const GREETINGS: readonly string[] = [
  "hi", "hello", "hey", "hiya", "howdy", "greetings", "good morning", "good afternoon", "good evening",
  "good night", "thanks", "thank you", "thank", "thx", "ty", "cheers", "bye", "goodbye", "see you",
  "how are you", "nice to meet you", "who are you", "what can you do", "what are you", "great job",
  "well done", "awesome", "cool", "wow", "nice", "perfect", "excellent", "amazing", "brilliant",
];

/** Talk about the lesson itself: allowed when the message is nothing more. */
export const LESSON_META: readonly string[] = [
  "next chapter", "next lesson", "next topic", "next section", "next step", "next part", "next one",
  "previous chapter", "previous lesson", "last chapter", "go back", "go on", "keep going", "continue",
  "proceed", "move on", "carry on", "repeat", "repeat that", "say that again", "one more time", "slower",
  "slow down", "simpler", "more simply", "eli5", "explain like i'm five", "i don't understand",
  "i dont understand", "i do not understand", "don't understand", "didn't understand", "i'm confused",
  "im confused", "confused", "i'm lost", "i am lost", "i get it", "got it", "makes sense", "exercise",
  "practice problem", "practice question", "quiz", "quiz me", "test me", "another example", "example",
  "hint", "give me a hint", "solution", "show the solution", "check my answer", "my answer",
  "is this correct", "is that correct", "is it correct", "am i right", "summary", "summarize", "summarise",
  "recap", "outline", "course", "chapter", "lesson", "topic", "start the course", "let's start",
  "let's begin", "what's next", "what next", "tutorial", "homework", "assignment", "explain again",
  "explain more", "more detail", "in more detail", "elaborate", "clarify", "what do you mean",
  "what does that mean", "can you explain", "tell me more", "more examples", "teach me", "learn", "study",
  "revision",
];

/** Short replies to the tutor ("yes", "ok, done"): allowed when the message is nothing more, never a topic hint. */
export const ACKNOWLEDGEMENTS: readonly string[] = [
  "yes", "no", "ok", "okay", "sure", "yep", "yeah", "nope", "alright", "right", "correct", "understood",
  "done", "finished", "i'm done", "ready", "i'm ready", "start", "begin", "skip", "skip this", "stop", "pause",
  "wait", "go ahead",
];

/** Function words and filler: neither a signal nor "other content". */
export const STOPWORDS: readonly string[] = [
  "i", "me", "my", "mine", "myself", "you", "your", "yours", "we", "us", "our", "it", "its", "it's", "this",
  "that", "these", "those", "that's", "a", "an", "the", "is", "are", "was", "were", "be", "been", "being",
  "am", "do", "does", "did", "done", "doing", "can", "could", "would", "should", "will", "shall", "may",
  "might", "must", "have", "has", "had", "having", "what", "what's", "whats", "which", "who", "whom",
  "whose", "when", "where", "why", "how", "how's", "and", "or", "but", "if", "then", "so", "of", "to", "in",
  "on", "at", "for", "with", "about", "from", "by", "as", "into", "over", "under", "up", "down", "out",
  "off", "not", "please", "pls", "plz", "just", "very", "really", "much", "more", "most", "some", "any",
  "all", "there", "here", "let", "let's", "lets", "again", "also", "too", "well", "now", "today", "one",
  "ones", "get", "got", "make", "know", "tell", "explain", "show", "give", "want", "need", "like", "help",
  "understand", "describe", "mean", "means", "thing", "things", "part", "step", "way", "something",
  "anything", "everything", "good", "great", "i'm", "im", "i've", "i'd", "i'll", "you're", "don't", "dont",
  "doesn't", "isn't", "aren't", "can't", "cant", "won't", "didn't", "there's", "he", "she", "they", "them",
  "their", "his", "her", "him", "it.", "other", "another", "same", "such", "than", "because", "while",
  "before", "after", "again", "still", "only", "even", "each", "every", "both", "few", "many", "few",
  "first", "second", "third", "last", "next", "new", "old", "big", "small", "long", "short", "between",
  "through", "without", "within", "difference", "different", "use", "using", "used", "work", "works",
  "working", "write", "writing", "written", "read", "example", "question", "answer", "think", "say",
  "said", "see", "look", "find", "try", "trying", "go", "going", "come", "take", "put", "keep", "call",
  "called", "way", "best", "better", "worse", "easy", "hard", "simple", "basic", "basics", "common",
  "important", "possible", "thanks", "quick", "quickly", "fast", "faster", "slow", "slower", "does",
  "vs", "versus", "e.g", "i.e", "etc", "ok", "yes", "no", "wh", "up", "lot", "lots", "kind", "type",
  "types", "someone", "somebody", "people", "person", "time", "times", "day", "year", "years",
  "could", "would", "maybe", "probably", "actually", "exactly", "why's", "where's", "who's", "name",
  "happen", "happens", "happened", "mean", "meaning", "start", "end", "bad", "right", "wrong", "true",
  "false", "same", "instead", "far", "so far", "else", "above", "below", "earlier", "later", "previous", "another",
];

/** Words that point back into the conversation ("why is that faster?"). */
export const REFERENCE_WORDS: readonly string[] = [
  "that", "this", "it", "its", "it's", "that's", "these", "those", "them", "they", "above", "previous",
  "earlier", "same", "again", "instead", "why", "else", "also", "another", "more", "one", "ones",
];
