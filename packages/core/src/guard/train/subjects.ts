// Subjects of the generated training questions. Written for the trainer, not
// taken from the evaluation sets (the trainer drops any exact duplicate of an
// evaluation message, so no test text is ever learned).

/** Computing subjects beyond the guard's own word lists (which the trainer uses too). */
export const CS_SUBJECTS: readonly string[] = [
  // distributed systems and consensus
  "the raft protocol", "paxos", "multi-paxos", "consensus algorithms", "leader election", "log replication",
  "a quorum", "eventual consistency", "strong consistency", "linearizability", "serializability",
  "vector clocks", "lamport clocks", "logical clocks", "two-phase commit", "three-phase commit", "the saga pattern",
  "byzantine fault tolerance", "crdts", "conflict-free replicated data types", "gossip protocols", "consistent hashing",
  "replication lag", "split brain in a cluster", "distributed locks", "zookeeper", "etcd", "the actor model",
  "distributed transactions", "partition tolerance", "the cap theorem", "idempotent requests", "exactly-once delivery",
  "a distributed hash table", "mapreduce", "heartbeats and failure detectors", "chubby lock service",
  // compilers and languages
  "lexical analysis", "a tokenizer for a compiler", "recursive descent parsing", "lr parsing", "lalr parsers",
  "ll(1) grammars", "parse trees", "abstract syntax trees", "semantic analysis", "type checking", "symbol tables",
  "intermediate representation", "llvm ir", "ssa form", "register allocation", "instruction selection",
  "constant folding", "dead code elimination", "loop unrolling", "inlining", "peephole optimization",
  "code generation", "garbage collectors", "just-in-time compilation", "bytecode interpreters", "yacc and bison",
  "antlr", "operator precedence parsing", "closures and environments", "tail call optimization", "name mangling",
  "linkers and loaders", "calling conventions", "escape analysis",
  // formal languages and theory
  "regular languages", "context-free grammars", "context-free languages", "the pumping lemma", "dfa minimization",
  "nfa to dfa conversion", "pushdown automata", "the chomsky hierarchy", "decidability", "undecidable problems",
  "rice's theorem", "reductions between problems", "np-completeness proofs", "sat solvers", "the cook-levin theorem",
  "kleene star", "regular grammars", "turing machines", "church-turing thesis", "busy beaver", "complexity classes",
  "pspace", "approximation algorithms", "randomized algorithms", "amortized analysis",
  // graphics
  "the graphics pipeline", "rasterization", "ray tracing", "path tracing", "vertex shaders", "fragment shaders",
  "the z-buffer", "depth testing", "phong shading", "gouraud shading", "texture mapping", "mipmapping",
  "normal mapping", "bump mapping", "anti-aliasing", "msaa", "homogeneous coordinates", "projection matrices",
  "the view frustum", "frustum culling", "bounding volume hierarchies", "shadow mapping", "bezier curves",
  "quaternions for rotation in 3d graphics", "webgl", "glsl", "hlsl", "metal api", "framebuffers", "alpha blending",
  "level of detail in game engines", "sprite batching", "the painter's algorithm",
  // hpc and parallel
  "mpi", "openmp", "simd", "avx instructions", "vectorization", "amdahl's law", "gustafson's law",
  "strong and weak scaling", "false sharing", "cache coherence", "numa", "cuda kernels", "gpu warps",
  "thread blocks in cuda", "slurm job scheduling", "supercomputers", "parallel prefix sum", "lock-free data structures",
  "memory barriers", "atomic operations", "work stealing", "load imbalance in parallel programs", "roofline model",
  "cache blocking", "loop tiling", "bulk synchronous parallel",
  // quantum computing
  "qubits", "quantum superposition in computing", "entangled qubits", "quantum gates", "the hadamard gate",
  "the cnot gate", "quantum circuits", "grover's algorithm", "shor's algorithm", "quantum fourier transform",
  "quantum error correction", "qiskit", "quantum teleportation protocol", "bloch sphere", "quantum supremacy",
  "post-quantum cryptography", "quantum annealing", "measurement of a qubit",
  // devops and tooling
  "github actions", "gitlab ci", "jenkins pipelines", "a jenkinsfile", "helm charts", "kubernetes pods",
  "kubernetes services", "ingress controllers", "docker images", "docker volumes", "docker networking",
  "container registries", "terraform modules", "terraform state", "ansible playbooks", "puppet", "chef recipes for servers",
  "infrastructure as code", "blue-green deployment", "canary releases", "rolling updates", "feature flags",
  "prometheus", "grafana dashboards", "observability", "distributed tracing", "opentelemetry", "log aggregation",
  "site reliability engineering", "slos and slis", "argocd", "gitops", "systemd services", "nginx reverse proxy",
  "load testing", "secrets management", "vault", "podman", "build caching", "monorepos", "semantic versioning",
  // everyday programming
  "variables and types", "for loops", "while loops", "if statements", "functions and parameters", "return values",
  "lists in python", "dictionaries in python", "tuples", "sets", "string formatting", "f-strings", "list comprehensions",
  "classes and objects", "inheritance", "interfaces", "abstract classes", "exceptions", "error handling", "file i/o",
  "reading a csv file", "json parsing", "unit testing", "mocking", "debugging with breakpoints", "logging",
  "pointers", "references", "memory allocation", "structs in c", "header files", "makefiles", "command line arguments",
  "environment variables", "regular expressions", "sorting a list", "binary search", "hash maps", "linked lists",
  "stacks and queues", "trees and graphs", "recursion", "iteration", "big o notation", "time complexity",
  "space complexity", "sql queries", "joins", "indexes", "transactions", "normalization", "rest apis", "graphql",
  "http methods", "status codes", "cookies and sessions", "authentication", "oauth", "jwt tokens", "websockets",
  "react components", "state management", "css selectors", "responsive design", "the dom", "event listeners",
  "promises", "async functions", "callbacks", "the event loop", "threads", "processes", "mutexes", "deadlocks",
  "virtual memory", "paging", "file systems", "system calls", "the linux terminal", "shell scripting", "git branches",
  "merge conflicts", "pull requests", "code reviews", "design patterns", "clean code", "refactoring", "technical debt",
  "machine learning models", "neural networks", "training and test sets", "overfitting", "gradient descent",
  "decision trees", "k-means clustering", "natural language processing", "computer vision", "large language models",
  "encryption", "hashing passwords", "public key cryptography", "tls certificates", "firewalls", "sql injection",
  "cross-site scripting", "buffer overflows", "the osi model", "tcp/ip", "dns", "ip addresses", "subnets", "routers",
  "compilers", "interpreters", "virtual machines", "containers", "cloud computing", "serverless functions",
  "a hello world program", "my first python script", "an off-by-one error", "an infinite loop", "a stack overflow error",
  "a null pointer exception", "a segmentation fault", "an index out of range error", "a type error in javascript",
  "the difference between java and javascript", "python vs c++", "static vs dynamic typing", "compiled vs interpreted languages",
  "functional programming", "object-oriented programming", "procedural programming", "immutability", "higher-order functions",
  "map, filter and reduce", "generators", "iterators", "decorators in python", "lambdas", "generics", "templates in c++",
  "operator overloading", "memory management in rust", "ownership and borrowing", "goroutines and channels",
  "coroutines in kotlin", "linq in c#", "spring boot", "django models", "flask routes", "express middleware",
  "the virtual dom", "webpack", "npm packages", "pip install", "virtual environments", "ides", "vs code extensions",
  "unicode and utf-8", "binary numbers", "hexadecimal", "two's complement", "floating point precision", "bitwise operators",
  "logic gates", "boolean algebra", "truth tables", "karnaugh maps", "flip-flops", "cpu pipelines", "caches", "branch prediction",
  "assembly language", "registers", "interrupts", "device drivers", "the boot process", "bios and uefi",
  "data structures", "algorithms", "dynamic programming", "greedy algorithms", "backtracking", "divide and conquer",
  "graph algorithms", "shortest paths", "minimum spanning trees", "topological sorting", "union find", "tries", "heaps",
  "priority queues", "balanced binary search trees", "b-trees", "hash collisions", "bloom filters", "skip lists",
  "string matching algorithms", "the knapsack problem", "the travelling salesman problem", "np-hard problems",
  // maths computing uses
  "discrete mathematics", "proof by induction", "recurrence relations", "the master theorem", "modular arithmetic",
  "graph theory", "combinatorics for algorithms", "permutations and combinations in counting problems",
  "probability for randomized algorithms", "expected running time", "set theory", "relations and functions in discrete math",
  "propositional logic", "predicate logic", "logical equivalences", "de morgan's laws", "linear algebra for machine learning",
  "matrix multiplication", "vectors and dot products in graphics", "eigenvalues in pca", "number systems", "base conversion",
  "the euclidean algorithm", "greatest common divisor", "prime numbers in cryptography", "modular inverses",
  "fermat's little theorem in rsa", "big theta", "logarithms in complexity", "summations in loop analysis",
  "the pigeonhole principle", "bijections", "countable sets", "boolean functions", "bayes theorem in spam filters",
  "information entropy", "huffman codes", "error-correcting codes", "hamming distance", "checksums", "crc",
];

/** Everyday and school subjects that are not computing. */
export const OFF_SUBJECTS: readonly string[] = [
  // food
  "a lasagna recipe", "how to bake bread", "banana pancakes", "a vegan curry", "how to cook rice", "a pizza dough recipe",
  "the best burger in town", "making sushi at home", "how long to roast a chicken", "what to cook for dinner",
  "healthy breakfast ideas", "how to make cold brew coffee", "the perfect steak", "gluten-free desserts",
  "how to brew beer", "wine pairing with fish", "chocolate chip cookies", "a birthday cake", "homemade ice cream",
  "meal prep for the week", "how to make hummus", "spicy ramen", "a smoothie recipe", "french toast",
  // health and body
  "a sore throat", "my headache", "flu symptoms", "how to lose weight", "a workout plan", "building muscle",
  "how much sleep I need", "back pain", "a sprained ankle", "high blood pressure", "vitamin d deficiency",
  "how to stop snoring", "acne treatment", "a toothache", "allergies in spring", "how to quit smoking",
  "anxiety before exams", "feeling depressed", "meditation for stress", "intermittent fasting", "a keto diet",
  "stretching before running", "pregnancy symptoms", "a rash on my arm", "a fever in a toddler", "covid vaccines",
  // relationships and life
  "my girlfriend", "my boyfriend", "getting over a breakup", "asking someone on a date", "a good pickup line",
  "dealing with my parents", "making new friends", "a wedding speech", "a gift for my sister", "birthday party ideas",
  "how to apologize to my friend", "roommate problems", "a job interview for a cashier", "asking my boss for a raise",
  "writing a resignation letter", "what to wear to a wedding", "a cover letter for a retail job", "moving to a new city",
  "baby names", "raising a teenager", "divorce papers", "a dating app profile",
  // entertainment, sport, celebrities
  "the football match last night", "who won the super bowl", "the nba playoffs", "the world cup final", "tennis rules",
  "the rules of cricket", "formula one standings", "the best striker in europe", "a marathon training plan",
  "yoga poses", "the latest marvel movie", "a good horror film", "the new taylor swift album", "kpop groups",
  "the kardashians", "the oscars", "a netflix series to binge", "the best anime", "the harry potter books",
  "lyrics of a song", "learning the guitar", "piano chords", "the best video game of the year to play", "board games for parties",
  "the plot of hamlet", "the ending of a tv show", "celebrity gossip", "famous actors", "a stand-up comedian",
  // school subjects that are not computing
  "photosynthesis", "cell division", "mitosis and meiosis", "the human digestive system", "the circulatory system",
  "dna replication", "protein synthesis", "genetics and heredity", "evolution by natural selection", "ecosystems",
  "the nitrogen cycle", "the immune system", "bacteria and viruses in biology", "the structure of an atom",
  "the periodic table", "chemical bonds", "balancing chemical equations", "acids and bases", "the ph scale",
  "molar mass", "stoichiometry", "oxidation and reduction", "organic chemistry", "titration", "the ideal gas law",
  "newton's laws of motion", "kinetic energy", "potential energy", "momentum", "friction", "projectile motion in physics",
  "ohm's law", "electric circuits with resistors", "magnetism", "electromagnetic waves", "the speed of light",
  "thermodynamics", "entropy in chemistry", "nuclear fission", "radioactive decay", "black holes", "the big bang",
  "the solar system", "the phases of the moon", "plate tectonics", "volcanoes", "earthquakes", "the water cycle",
  "climate change", "the ozone layer", "weather fronts", "the french revolution", "world war two", "the roman empire",
  "the cold war", "ancient egypt", "the american civil war", "the industrial revolution in history", "the renaissance",
  "shakespeare's sonnets", "a poem about the sea", "an essay on freedom", "the great gatsby", "grammar in spanish class",
  "the subjunctive in french", "german articles", "latin declensions", "the capital of peru", "the longest river in asia",
  "the population of canada", "the economy of japan", "supply and demand", "inflation", "the stock market today",
  "interest rates on a mortgage", "how to do my taxes", "personal budgeting", "investing in gold", "cryptocurrency prices",
  "the meaning of life", "philosophy of kant", "world religions", "the bible", "meditation and prayer",
  "the derivative of sin x", "integration by parts", "solving quadratic equations", "the pythagorean theorem",
  "trigonometry homework", "the area of a triangle", "long division", "fractions for kids",
  // home, nature, travel, other
  "the weather tomorrow", "a trip to italy", "cheap flights to london", "a hotel in barcelona", "packing for a camping trip",
  "how to grow tomatoes", "caring for a cactus", "my dog barking", "a sick cat", "feeding a goldfish", "training a puppy",
  "horse riding", "fixing a leaking tap", "painting a wall", "unclogging a drain", "cleaning an oven", "doing laundry",
  "removing a stain from a shirt", "ironing a shirt", "the best vacuum cleaner", "buying a used car", "changing a tire",
  "car insurance", "a driving test", "fashion trends", "a haircut for round faces", "makeup for beginners",
  "skincare routine", "perfume for men", "knitting a sweater", "sewing a button", "drawing portraits", "oil painting",
  "photography tips for sunsets", "bird watching", "fishing for trout", "hiking trails", "surfing lessons",
  "my horoscope", "the zodiac sign leo", "tarot cards", "astrology compatibility", "lucky numbers", "dream meanings",
  "the lottery", "poker strategy", "sports betting", "the election results", "the president of the united states",
  "immigration law", "suing my landlord", "a parking ticket", "a legal contract for renting", "getting a visa",
];

/** Programming tasks about subjects outside computing: real programming, so allowed. */
export const TASKS: readonly string[] = [
  "calculates compound interest", "converts temperatures between celsius and fahrenheit", "tracks my daily expenses",
  "stores recipes and searches them by ingredient", "counts the words in a text file", "simulates a bouncing ball",
  "computes the average of exam grades from a csv", "shows the weather forecast from a public api", "plays rock paper scissors",
  "manages books in a small library", "finds all prime numbers below a million", "checks if two words are anagrams",
  "calculates the bmi of a person", "simulates a predator and prey population", "plots the trajectory of a thrown ball",
  "keeps score in a basketball game", "generates a weekly workout schedule", "converts roman numerals to integers",
  "solves a sudoku grid", "draws the mandelbrot set", "sorts a list of students by their marks", "quizzes me on vocabulary",
  "tracks how much water I drink", "shuffles a deck of cards", "simulates rolling two dice a million times",
  "calculates the molar mass of a molecule from its formula", "counts nucleotides in a dna sequence",
  "books tables at a restaurant", "scrapes football results from a website", "reminds me to take my medication",
  "analyses the sentiment of movie reviews", "recommends songs from my listening history", "simulates a solar system orbit",
  "converts recipes between metric and imperial units", "splits a restaurant bill between friends", "plans a travel itinerary from a json file",
  "finds the shortest route between cities on a map", "computes loan repayments", "tracks stock prices and alerts me",
  "estimates pi with random points", "models a chess board and validates moves", "plays hangman", "runs a pet adoption website",
  "stores a family tree", "checks a password's strength", "renders a bar chart of rainfall data", "simulates traffic lights",
];

export const LANGS: readonly string[] = ["python", "java", "javascript", "c", "c++", "c#", "go", "rust", "typescript", "kotlin", "ruby", "php", "swift"];
export const ARTIFACTS: readonly string[] = ["program", "script", "function", "class", "app", "web app", "command-line tool", "bot", "website", "api", "module", "game"];

/** Requests for something that is not computing, used inside output-format wrappers. */
export const OFF_REQUESTS: readonly string[] = [
  "a recipe for apple pie", "the best restaurants in paris", "today's horoscope for gemini", "the rules of basketball",
  "the symptoms of a cold", "the last five world cup winners", "tips for a first date", "the causes of world war two",
  "a workout plan for beginners", "the plot of macbeth", "the capitals of south america", "the planets and their moons",
  "the best perfumes for summer", "how to fix a broken heart", "the ingredients of a margarita", "the presidents of france",
  "what to pack for a beach holiday", "the stages of grief", "the winners of the oscars this year", "how to grow basil",
  "the calories in a banana", "the lyrics of a love song", "the best players in the nba", "how to cure a hangover",
  "the steps of photosynthesis", "the formula of table salt and its uses", "the causes of the french revolution",
  "a good name for my dog", "advice for my wedding speech", "the best time to visit japan",
];

export const OFF_DIRECT: readonly string[] = [
  "give me a recipe for apple pie", "tell me who won the game yesterday", "what's my horoscope", "help me write a love letter",
  "tell me how to lose weight", "what should I eat tonight", "tell me a good movie", "how do I get a girlfriend",
  "explain the causes of world war two", "who is the best footballer", "what's the weather tomorrow", "help me plan my vacation",
  "how do I cure a cold", "tell me about the kardashians", "write a poem about autumn", "what stocks should I buy",
  "how do I ask my crush out", "what's the capital of mongolia", "how do I balance this chemistry equation",
  "explain mitosis for my biology test",
];
